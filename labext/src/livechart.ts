// The notebook's live chart: what `glassbox.jupyter.monitor(c)` shows in JupyterLab.
// Its display carries a small document under application/vnd.glassbox.stats+json (the
// container, the monitor's token) next to the ipywidgets fallback; this renderer ranks
// above the widget's, so the chart is drawn here from the lab's WebSocket at 10 Hz while
// it is on screen. Once samples arrive it tells the kernel over a comm
// (`glassbox.monitor`, {monitor: token}) and the kernel stops redrawing its PNG.
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Kernel } from '@jupyterlab/services';
import { Widget } from '@lumino/widgets';
import { api, el, Live, Message } from './api';
import { drawChart, Sample } from './charts';

export const MIME = 'application/vnd.glassbox.stats+json';
export const COMM_TARGET = 'glassbox.monitor';
/** Below the widget renderer's rank (-10): a lower rank wins. */
export const RANK = -20;
let serial = 0;

/** The kernel of the notebook an output node sits in (null: none known). */
export type KernelOf = (node: HTMLElement) => Kernel.IKernelConnection | null;

export class LiveChart extends Widget implements IRenderMime.IRenderer {
  private canvas = el('canvas', 'gbx-chart');
  private info = el('div', 'gbx-sub');
  private samples: Sample[] = [];
  private cid = '';
  private name = '';
  private token = '';
  private claimed = false;
  private stopped = false;
  private comm: Kernel.IComm | null = null;
  private owner = `livechart-${++serial}`;
  private off: () => void;
  private frame = 0;
  private got = 0;
  private since = performance.now();

  constructor(private live: Live, private kernelOf: KernelOf) {
    super();
    this.addClass('gbx-livechart');
    this.canvas.width = 560;
    this.canvas.height = 200;
    this.node.append(this.info, this.canvas);
    this.off = live.on(m => this.onMessage(m));
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const doc = model.data[MIME] as any;
    this.cid = doc.id;
    this.name = doc.name;
    this.token = doc.monitor || '';
    this.node.dataset.id = doc.id;
    this.info.textContent = `${doc.name}: live from its cgroup (drawn by the glassbox lab, 10 Hz)`;
    this.live.setFast(this.owner, [this.cid]);
    drawChart(this.canvas, this.samples);
    void this.checkState();
  }

  /** A container that is not running gets no samples: say so instead of "waiting". */
  private async checkState(): Promise<void> {
    try {
      const row = await api(`containers/${encodeURIComponent(this.cid)}`);
      if (!row.running && !this.got) {
        const oom = row.oom_killed ? ', OOM killed' : '';
        this.info.textContent = `${this.name}: ${row.state} (exit code ${row.exit_code}${oom}) — ` +
          'not running, nothing to sample; m.show() draws what the kernel sampled';
        this.node.dataset.state = row.state;
        this.canvas.style.display = 'none';
      }
    } catch (e) {
      if (!this.got) {
        this.info.textContent = `${(e as Error).message} — the lab's engine does not know this ` +
          'container (is the kernel using the same GLASSBOX_ROOT as JupyterLab?)';
      }
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.off();
    this.live.setFast(this.owner, []);
    if (this.comm && !this.comm.isDisposed) {
      try {
        this.comm.close();
      } catch {
        // the kernel is gone: nothing to close
      }
    }
    if (this.frame) {
      cancelAnimationFrame(this.frame);
    }
    super.dispose();
  }

  /** Tell the kernel that this chart draws its monitor: it stops redrawing the PNG, and
   * says {stop: true} on this comm when `m.stop()` is called. */
  private claim(): void {
    this.claimed = true;
    const kernel = this.token ? this.kernelOf(this.node) : null;
    if (!kernel) {
      return;      // an old output, a console: the kernel keeps its own picture
    }
    try {
      const comm = kernel.createComm(COMM_TARGET);
      comm.onMsg = msg => {
        if ((msg.content.data as any)?.stop) {
          this.stop('stopped monitoring (m.stop())');
        }
      };
      comm.open({ monitor: this.token });
      this.comm = comm;
      this.node.dataset.claimed = 'true';
    } catch (e) {
      console.warn('glassbox: could not tell the kernel that the lab draws this chart', e);
    }
  }

  /** No more samples: the chart keeps what it drew. */
  private stop(why: string, state = 'stopped'): void {
    this.stopped = true;
    this.live.setFast(this.owner, []);
    this.info.textContent = `${this.name}: ${why} — the chart keeps its last samples`;
    this.node.dataset.state = state;
  }

  private onMessage(m: Message): void {
    if (this.stopped) {
      return;      // the panel may still watch this container: not for this chart
    }
    if (m.type === 'error' && m.id === this.cid) {
      if (this.got) {       // it was there: removed since (`rm -f`), not another state root
        this.stop('removed', 'removed');
      } else {
        this.info.textContent = `${m.error} — the lab's engine does not know this container ` +
          '(is the kernel using the same GLASSBOX_ROOT as JupyterLab?)';
      }
      return;
    }
    if (m.type === 'event' && m.event && m.event.Actor && m.event.Actor.ID === this.cid) {
      const action = String(m.event.Action || '');
      if (action === 'destroy') {
        this.stop('removed', 'removed');
      } else if (action === 'die') {
        const code = m.event.Actor.Attributes && m.event.Actor.Attributes.exitCode;
        this.info.textContent = `${this.name}: exited (${code ?? '?'}) — the chart stopped with its last sample`;
        this.node.dataset.state = 'exited';
      } else if (action === 'start') {
        this.info.textContent = `${this.name}: live from its cgroup (drawn by the glassbox lab, 10 Hz)`;
        this.node.dataset.state = 'running';
      }
      return;
    }
    if (m.type !== 'stats' || m.id !== this.cid) {
      return;
    }
    if (!this.claimed) {
      this.claim();
      this.canvas.style.display = '';
    }
    this.samples.push(m as any);
    if (this.samples.length > 600) {
      this.samples.splice(0, this.samples.length - 600);
    }
    this.got++;
    const secs = (performance.now() - this.since) / 1000;
    this.node.dataset.rate = (this.got / secs).toFixed(1);
    this.node.dataset.samples = String(this.got);
    if (!this.frame) {      // at most one drawing per animation frame
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        drawChart(this.canvas, this.samples);
        this.node.dataset.frames = String(Number(this.node.dataset.frames || 0) + 1);
      });
    }
  }
}

/** The renderer factory the plugin registers with the lab's rendermime registry. */
export function liveChartFactory(live: Live, kernelOf: KernelOf): IRenderMime.IRendererFactory {
  return {
    safe: true, mimeTypes: [MIME], defaultRank: RANK,
    createRenderer: () => new LiveChart(live, kernelOf)
  };
}
