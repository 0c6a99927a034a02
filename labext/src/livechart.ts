// The notebook's live chart: output of `glassbox.jupyter.livechart.live(c)` (MIME type
// application/vnd.glassbox.stats+json, naming one container), drawn here from the lab's
// WebSocket at 10 Hz while it is on screen. The kernel sends nothing after the display.
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { el, Live, Message } from './api';
import { drawChart, Sample } from './charts';

export const MIME = 'application/vnd.glassbox.stats+json';
let serial = 0;

export class LiveChart extends Widget implements IRenderMime.IRenderer {
  private canvas = el('canvas', 'gbx-chart');
  private info = el('div', 'gbx-sub');
  private samples: Sample[] = [];
  private cid = '';
  private owner = `livechart-${++serial}`;
  private off: () => void;
  private frame = 0;
  private got = 0;
  private since = performance.now();

  constructor(private live: Live) {
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
    this.node.dataset.id = doc.id;
    this.info.textContent = `${doc.name}: live from its cgroup (glassbox lab, 10 Hz)`;
    this.live.setFast(this.owner, [this.cid]);
    drawChart(this.canvas, this.samples);
  }

  dispose(): void {
    this.off();
    this.live.setFast(this.owner, []);
    super.dispose();
  }

  private onMessage(m: Message): void {
    if (m.type === 'error' && m.id === this.cid) {
      this.info.textContent = `${m.error} — the lab's engine does not know this container ` +
        '(is the kernel using the same GLASSBOX_ROOT as JupyterLab?)';
    }
    if (m.type !== 'stats' || m.id !== this.cid) {
      return;
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
      });
    }
  }
}

/** The renderer factory the plugin registers with the lab's rendermime registry. */
export function liveChartFactory(live: Live): IRenderMime.IRendererFactory {
  return { safe: true, mimeTypes: [MIME], defaultRank: 50, createRenderer: () => new LiveChart(live) };
}
