// The left-sidebar "glassbox" panel: containers (state, exit/OOM, CPU and memory
// sparklines against the limit), images with their layer tree, networks, volumes.
// It redraws on the server's events and stats; it never polls.
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import { api, ApiError, bytes, el, Live, Message, post, short } from './api';
import { History, sparkline } from './charts';

export interface Row {
  id: string;
  name: string;
  image: string;
  state: string;
  running: boolean;
  exit_code: number;
  oom_killed: boolean;
  memory_limit: number | null;
}

/** Ask before doing something that destroys; true when confirmed. */
export async function confirm(what: string, detail: string): Promise<boolean> {
  const r = await showDialog({
    title: what,
    body: detail,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: what.split(' ')[0] })]
  });
  return r.button.accept;
}

/** Run a container action; a failure (e.g. removed meanwhile) becomes a short dialog. */
export async function act(row: { id: string; name: string }, action: string, body: any = {}): Promise<boolean> {
  const destroys: { [a: string]: string } = {
    rm: 'removes the container and its read/write layer',
    kill: 'sends SIGKILL: the processes get no chance to clean up',
    stop: 'sends the stop signal, then SIGKILL after the timeout'
  };
  if (destroys[action] && !(await confirm(`${action} ${row.name}?`, destroys[action]))) {
    return false;
  }
  try {
    await post(`containers/${encodeURIComponent(row.id)}/${action}`, body);
    return true;
  } catch (e) {
    await showDialog({ title: `${action} ${row.name}`, body: String((e as Error).message),
      buttons: [Dialog.okButton()] });
    return false;
  }
}

export class GlassboxPanel extends Widget {
  private banner = el('div', 'gbx-banner');
  private containers = el('div', 'gbx-section-body');
  private images = el('div', 'gbx-section-body');
  private tree = el('div', 'gbx-tree');
  private networks = el('div', 'gbx-section-body');
  private volumes = el('div', 'gbx-section-body');
  private rows = new Map<string, Row>();
  private rowCache = new Map<string, { key: string; node: HTMLElement; spark: HTMLElement }>();
  private pending = new Set<string>();
  private timer = 0;

  constructor(
    private live: Live,
    private history: History,
    private openDetail: (row: Row) => void
  ) {
    super();
    this.id = 'glassbox-panel';
    this.addClass('gbx-panel');
    this.title.caption = 'glassbox: containers, images, networks, volumes';
    const section = (name: string, body: HTMLElement) =>
      el('section', `gbx-section gbx-${name.toLowerCase()}`, el('h3', '', name), body);
    this.node.append(this.banner, section('Containers', this.containers),
      section('Images', this.images), this.tree, section('Networks', this.networks),
      section('Volumes', this.volumes));
    live.on(m => this.onMessage(m));
    this.refresh(['containers', 'images', 'networks', 'volumes']);
  }

  private onMessage(m: Message): void {
    if (m.type === 'event') {
      const kind = m.event.Type as string;
      this.refresh([kind === 'container' ? 'containers' : `${kind}s`]);
      if (kind === 'container' && m.event.Action === 'destroy') {
        this.refresh(['volumes', 'networks']);
      }
    } else if (m.type === 'stats') {
      this.history.add(m.id, m as any);
      this.drawStats(m.id);
    } else if (m.type === 'status') {
      this.showEngine(m);
    } else if (m.type === 'connection') {
      if (m.connected) {
        this.refresh(['containers', 'images', 'networks', 'volumes']);
      } else {
        this.banner.className = 'gbx-banner gbx-warn';
        this.banner.textContent = 'reconnecting to the Jupyter server…';
      }
    }
  }

  private showEngine(st: any): void {
    const where = st.engine ? `${st.engine.kind === 'daemon' ? 'daemon' : 'state root'} ${st.engine.address}` : '';
    if (st.ok) {
      this.banner.className = 'gbx-banner';
      this.banner.textContent = `connected to ${where}`;
    } else {
      this.showError(new ApiError(st.error, 503, st.fix, 'unreachable'));
    }
  }

  private showError(e: ApiError): void {
    this.banner.className = 'gbx-banner gbx-error';
    this.banner.replaceChildren(
      el('div', 'gbx-error-title', e.state === 'unreachable' ? 'engine unreachable' : 'error'),
      el('div', '', e.message), el('div', 'gbx-fix', e.fix ? `fix: ${e.fix}` : ''));
  }

  /** Re-read some sections, coalescing a burst of events into one request each. */
  refresh(what: string[]): void {
    what.forEach(w => this.pending.add(w));
    if (!this.timer) {
      this.timer = window.setTimeout(() => this.flush(), 50);
    }
  }

  private async flush(): Promise<void> {
    this.timer = 0;
    const todo = [...this.pending];
    this.pending.clear();
    for (const what of todo) {
      try {
        if (what === 'containers') {
          this.drawContainers(await api<Row[]>('containers'));
        } else if (what === 'images') {
          this.drawImages(await api<any[]>('images'));
        } else if (what === 'networks') {
          this.drawNetworks(await api<any[]>('networks'));
        } else if (what === 'volumes') {
          this.drawVolumes(await api<any[]>('volumes'));
        }
      } catch (e) {
        if (e instanceof ApiError) {
          this.showError(e);
        } else {
          console.error(e);
        }
      }
    }
  }

  /** Redraw the containers list; a row whose data did not change keeps its element. */
  private drawContainers(rows: Row[]): void {
    const next = new Map<string, { key: string; node: HTMLElement; spark: HTMLElement }>();
    const nodes = rows.map(r => {
      const key = JSON.stringify(r);
      let item = this.rowCache.get(r.id);
      if (!item || item.key !== key) {
        item = { key, ...this.makeRow(r) };
      }
      next.set(r.id, item);
      return item.node;
    });
    this.rowCache = next;
    this.rows = new Map(rows.map(r => [r.id, r]));
    this.containers.replaceChildren(...(nodes.length ? nodes : [el('div', 'gbx-empty', 'no containers')]));
    rows.forEach(r => this.drawStats(r.id));
    this.live.setWatch('panel', rows.filter(r => r.running).map(r => r.id));
  }

  private makeRow(r: Row): { node: HTMLElement; spark: HTMLElement } {
    const state = r.running ? r.state : r.state === 'exited'
      ? `exited (${r.exit_code})${r.oom_killed ? ' OOM' : ''}` : r.state;
    const spark = el('span', 'gbx-sparks');
    const btn = (label: string, action: string) => {
      const b = el('button', `gbx-btn gbx-act-${action}`, label);
      b.title = `${action} ${r.name}`;
      b.onclick = ev => {
        ev.stopPropagation();
        void act(r, action).then(() => this.refresh(['containers']));
      };
      return b;
    };
    const actions = el('span', 'gbx-actions', ...(r.running
      ? [btn('stop', 'stop'), btn('kill', 'kill'), btn('restart', 'restart')]
      : [btn('start', 'start'), btn('rm', 'rm')]));
    const node = el('div', `gbx-row gbx-state-${r.state}${r.oom_killed ? ' gbx-oom' : ''}`,
      el('span', 'gbx-name', r.name), el('span', 'gbx-image', r.image),
      el('span', 'gbx-state', state), spark, actions);
    node.dataset.id = r.id;
    node.dataset.name = r.name;
    node.title = `${short(r.id)} — click for logs, inspect, stats, namespaces, changes, terminal`;
    node.onclick = () => this.openDetail(r);
    return { node, spark };
  }

  private drawStats(id: string): void {
    const cell = this.rowCache.get(id)?.spark;
    const row = this.rows.get(id);
    if (!cell || !row) {
      return;
    }
    const samples = this.history.get(id);
    const last = samples[samples.length - 1];
    if (!row.running || !last) {
      cell.replaceChildren();
      return;
    }
    const limit = last.limit || 0;
    const cpu = sparkline(samples.map(s => s.cpu), 100, 'gbx-cpu');
    const mem = sparkline(samples.map(s => s.memory), limit, 'gbx-mem');
    cpu.dataset.last = last.cpu.toFixed(1);
    cell.replaceChildren(cpu, el('span', 'gbx-num', `${last.cpu.toFixed(0)}%`), mem,
      el('span', 'gbx-num', `${bytes(last.memory)}${limit ? ' / ' + bytes(limit) : ''}`));
  }

  private drawImages(images: any[]): void {
    const rows = images.map(img => {
      const name = img.tags[0] || short(img.id);
      const rm = el('button', 'gbx-btn gbx-act-rmi', 'rmi');
      rm.title = `rmi ${name}`;
      rm.onclick = async ev => {
        ev.stopPropagation();
        if (await confirm(`rmi ${name}?`, 'untags the image and deletes layers no other image uses')) {
          try {
            await post(`images/${encodeURIComponent(name)}/rm`);
          } catch (e) {
            await showDialog({ title: `rmi ${name}`, body: String((e as Error).message), buttons: [Dialog.okButton()] });
          }
        }
      };
      const r = el('div', 'gbx-row gbx-image-row', el('span', 'gbx-name', name),
        el('span', 'gbx-num', bytes(img.size)), rm);
      r.dataset.ref = name;
      r.onclick = () => void this.showTree([name]);
      return r;
    });
    if (images.length > 1) {
      const all = el('div', 'gbx-row gbx-image-row gbx-all', el('span', 'gbx-name', 'all images: shared layers'));
      all.onclick = () => void this.showTree([]);
      rows.push(all);
    }
    this.images.replaceChildren(...(rows.length ? rows : [el('div', 'gbx-empty', 'no images')]));
  }

  /** The layer tree: shared layers drawn once, as wide as the images standing on them. */
  private async showTree(refs: string[]): Promise<void> {
    const q = refs.map(r => `image=${encodeURIComponent(r)}`).join('&');
    let doc: any;
    try {
      doc = await api(`layers${q ? '?' + q : ''}`);
    } catch (e) {
      this.tree.replaceChildren(el('div', 'gbx-error', String((e as Error).message)));
      return;
    }
    const top = Math.max(0, ...doc.boxes.map((b: any) => b.level));
    const grid = el('div', 'gbx-layers');
    grid.style.gridTemplateColumns = `repeat(${doc.columns.length}, 1fr)`;
    for (const b of doc.boxes) {
      const box = el('div', `gbx-layer gbx-layer-${b.kind}`,
        el('div', 'gbx-layer-label', b.kind === 'rw' ? b.label
          : b.created_by ? b.created_by.replace(/^\/bin\/sh -c (#\(nop\) )?/, '')
            : b.comment || '(no instruction recorded)'),     // glassbox import: "Imported from -"
        el('div', 'gbx-layer-size', `${short(b.key)} · ${bytes(b.size)}`));
      box.title = `${b.key}\n${b.created_by || b.comment || b.label}\nused by: ${b.images.join(', ')}`;
      box.style.gridColumn = `${b.x0 + 1} / ${b.x1 + 1}`;
      box.style.gridRow = String(top - b.level + 2);
      grid.append(box);
    }
    doc.columns.forEach((name: string, i: number) => {
      const h = el('div', 'gbx-layer-head', name);
      h.style.gridColumn = String(i + 1);
      h.style.gridRow = '1';
      grid.append(h);
    });
    const close = el('button', 'gbx-btn', 'close');
    close.onclick = () => this.tree.replaceChildren();
    this.tree.replaceChildren(el('h4', '', `layer tree: ${refs.length ? refs.join(', ') : 'all images'} `, close), grid);
  }

  private drawNetworks(nets: any[]): void {
    this.networks.replaceChildren(...(nets.length ? nets.map(n => el('div', 'gbx-block',
      el('div', 'gbx-row', el('span', 'gbx-name', n.name), el('span', '', `${n.bridge} ${n.subnet}`)),
      ...n.endpoints.map((ep: any) => el('div', 'gbx-sub', `${ep.name || short(ep.container)}  ${ep.ip}  ${ep.host_ifname}`))))
      : [el('div', 'gbx-empty', 'no networks')]));
  }

  private drawVolumes(vols: any[]): void {
    this.volumes.replaceChildren(...(vols.length ? vols.map(v => el('div', 'gbx-row',
      el('span', 'gbx-name', v.name), el('span', 'gbx-sub', v.users.length ? `used by ${v.users.length}` : 'unused')))
      : [el('div', 'gbx-empty', 'no volumes')]));
  }
}
