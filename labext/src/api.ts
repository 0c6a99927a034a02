// Talking to the server part (glassbox.lab): REST under <base_url>/glassbox/ and one
// WebSocket for events, stats and log lines, shared by every view of this browser tab.
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** An error answer of the server: what was wrong and, when known, how to fix it. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly fix: string = '',
    readonly state: string = 'error'
  ) {
    super(message);
  }
}

/** GET (or POST with a JSON body) one route; the JSON answer, or an ApiError. */
export async function api<T = any>(path: string, init: { method?: string; body?: any } = {}): Promise<T> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, 'glassbox', path);
  const req: RequestInit = { method: init.method || 'GET' };
  if (init.body !== undefined) {
    req.body = JSON.stringify(init.body);
  }
  let resp: Response;
  try {
    resp = await ServerConnection.makeRequest(url, req, settings);
  } catch (e) {
    throw new ApiError(`the Jupyter server does not answer: ${e}`, 0,
      'check that JupyterLab is still running, then reload', 'unreachable');
  }
  let doc: any = null;
  try {
    doc = await resp.json();
  } catch {
    doc = null;
  }
  if (!resp.ok) {
    const msg = (doc && (doc.error || doc.message)) || `${resp.status} ${resp.statusText}`;
    throw new ApiError(msg, resp.status, (doc && doc.fix) || '', (doc && doc.state) || 'error');
  }
  return doc as T;
}

export function post<T = any>(path: string, body: any = {}): Promise<T> {
  return api<T>(path, { method: 'POST', body });
}

export type Message = { type: string; [key: string]: any };
type Listener = (msg: Message) => void;

/**
 * The one WebSocket (`/glassbox/events`). Views say which containers they watch
 * (stats at 2 Hz, or 10 Hz for a live chart) and follow (logs); the socket asks the
 * server for the union. It
 * reconnects by itself (1 s, 2 s, ... 5 s) and asks again for what is wanted.
 */
export class Live {
  private ws: WebSocket | null = null;
  private listeners = new Set<Listener>();
  private watch = new Map<string, string[]>();
  private fast = new Map<string, string[]>();
  private follow = new Map<string, string[]>();
  private retry = 1000;
  private disposed = false;
  connected = false;

  constructor() {
    this.connect();
  }

  on(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setWatch(owner: string, ids: string[]): void {
    this.watch.set(owner, ids);
    this.sendWants();
  }

  /** Like setWatch, at 10 Hz (a live chart on screen). */
  setFast(owner: string, ids: string[]): void {
    this.fast.set(owner, ids);
    this.sendWants();
  }

  setFollow(owner: string, ids: string[]): void {
    this.follow.set(owner, ids);
    this.sendWants();
  }

  dispose(): void {
    this.disposed = true;
    this.ws?.close();
  }

  private union(m: Map<string, string[]>): string[] {
    const all = new Set<string>();
    m.forEach(ids => ids.forEach(i => all.add(i)));
    return [...all];
  }

  private sendWants(): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({
        watch: this.union(this.watch), fast: this.union(this.fast), follow: this.union(this.follow)
      }));
    }
  }

  private emit(msg: Message): void {
    this.listeners.forEach(fn => {
      try {
        fn(msg);
      } catch (e) {
        console.error('glassbox: a view failed on', msg.type, e);
      }
    });
  }

  private connect(): void {
    const settings = ServerConnection.makeSettings();
    let url = URLExt.join(settings.wsUrl, 'glassbox', 'events');
    if (settings.token) {
      url += `?token=${encodeURIComponent(settings.token)}`;
    }
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      this.connected = true;
      this.retry = 1000;
      this.sendWants();
      this.emit({ type: 'connection', connected: true });
    };
    ws.onmessage = ev => {
      try {
        this.emit(JSON.parse(ev.data));
      } catch (e) {
        console.error('glassbox: bad message', e);
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) {
        return;
      }
      this.connected = false;
      this.emit({ type: 'connection', connected: false });
      if (!this.disposed) {
        setTimeout(() => this.connect(), this.retry);
        this.retry = Math.min(this.retry * 2, 5000);
      }
    };
  }
}

// ---- formatting --------------------------------------------------------------
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) {
    return '–';
  }
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

export function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** A DOM element with a class and children, the only helper the views need. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, cls = '', ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (cls) {
    node.className = cls;
  }
  for (const c of children) {
    if (c !== null && c !== undefined) {
      node.append(c);
    }
  }
  return node;
}
