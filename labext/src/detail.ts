// One container in the main area, with tabs: Logs (paged, follow, search), Inspect (the
// JSON and the derived process spec), Stats (live chart, editable memory limit),
// Namespaces (its /proc/<pid>/ns beside the host's), Changes (R/W layer), Terminal.
import { ServiceManager } from '@jupyterlab/services';
import { Terminal } from '@jupyterlab/terminal';
import { BoxPanel, TabPanel, Widget } from '@lumino/widgets';
import { api, bytes, el, Live, Message, post } from './api';
import { drawChart, History } from './charts';
import { act, Row } from './panel';

class Tab extends Widget {
  constructor(label: string, cls: string) {
    super();
    this.title.label = label;
    this.addClass('gbx-tab');
    this.addClass(cls);
  }
}

export class ContainerDetail extends BoxPanel {
  private tabs = new TabPanel();
  private logLines = el('pre', 'gbx-log');
  private logInfo = el('span', 'gbx-sub');
  private logStart = 0;
  private logOlder = el('button', 'gbx-btn gbx-log-older', 'older');
  private search = el('input', 'gbx-search');
  private followBox = el('input');
  private canvas = el('canvas', 'gbx-chart');
  private limitInput = el('input', 'gbx-limit');
  private limitMsg = el('span', 'gbx-sub');
  private off: () => void;
  private terminal: Terminal | null = null;
  private terminalStarted = false;

  constructor(
    readonly row: Row,
    private live: Live,
    private history: History,
    private services: ServiceManager.IManager
  ) {
    super();
    this.id = `glassbox-container-${row.id.slice(0, 12)}`;
    this.title.label = row.name;
    this.title.closable = true;
    this.addClass('gbx-detail');
    const head = el('div', 'gbx-detail-head', el('b', '', row.name), ` ${row.image} · ${row.id.slice(0, 12)} `);
    for (const a of ['start', 'stop', 'restart', 'kill', 'rm']) {
      const b = el('button', `gbx-btn gbx-act-${a}`, a);
      b.onclick = () => void act(row, a);
      head.append(b);
    }
    const headW = new Widget({ node: head });
    BoxPanel.setStretch(headW, 0);
    BoxPanel.setStretch(this.tabs, 1);
    this.addWidget(headW);
    this.tabs.addClass('gbx-tabs');
    this.addWidget(this.tabs);
    this.tabs.addWidget(this.logsTab());
    this.tabs.addWidget(this.jsonTab('Inspect', 'inspect'));
    this.tabs.addWidget(this.statsTab());
    this.tabs.addWidget(this.namespacesTab());
    this.tabs.addWidget(this.changesTab());
    this.tabs.addWidget(this.terminalTab());
    this.tabs.currentChanged.connect(() => this.onTab());
    this.off = live.on(m => this.onMessage(m));
    live.setWatch(this.id, [row.id]);
  }

  dispose(): void {
    this.off();
    this.live.setWatch(this.id, []);
    this.live.setFollow(this.id, []);
    this.terminal?.session.shutdown().catch(() => undefined);
    super.dispose();
  }

  private path(view: string): string {
    return `containers/${encodeURIComponent(this.row.id)}/${view}`;
  }

  private onMessage(m: Message): void {
    if (m.id !== this.row.id) {
      return;
    }
    if (m.type === 'stats') {
      drawChart(this.canvas, this.history.get(this.row.id));
      if (document.activeElement !== this.limitInput && m.limit) {
        this.limitInput.placeholder = `${Math.round(m.limit / 1048576)}m`;
      }
    } else if (m.type === 'log') {
      const q = this.search.value;
      if (!q || m.line.text.includes(q)) {
        this.logLines.append(this.logLine(m.line));
        this.logLines.scrollTop = this.logLines.scrollHeight;
      }
    }
  }

  private onTab(): void {
    const w = this.tabs.currentWidget;
    if (w && w.hasClass('gbx-tab-terminal')) {
      void this.openTerminal(w as BoxPanel);
    }
  }

  // ---- Logs ----------------------------------------------------------------
  private logLine(l: any): HTMLElement {
    const line = el('div', `gbx-log-${l.stream}`, l.text.replace(/\n$/, ''));
    const q = this.search.value;
    if (q && l.text.includes(q)) {
      line.classList.add('gbx-hit');
    }
    return line;
  }

  /** One page of the log: the last one (start undefined), or `limit` lines from `start`
   * put above what is shown (the "older" button: the lines just before the first one). */
  private async loadLogs(start?: number, limit = 500): Promise<void> {
    const q = this.search.value;
    const args = [`limit=${limit}`, q ? `q=${encodeURIComponent(q)}` : '', start !== undefined ? `start=${start}` : '']
      .filter(Boolean).join('&');
    try {
      const page = await api(`${this.path('logs')}?${args}`);
      const lines = page.lines.map((l: any) => this.logLine(l));
      if (start === undefined) {
        this.logLines.replaceChildren(...lines);
        this.logLines.scrollTop = this.logLines.scrollHeight;
      } else {
        this.logLines.prepend(...lines);
      }
      this.logStart = page.start;
      this.logOlder.disabled = page.start <= 0;
      this.logInfo.textContent = !page.total ? (q ? `no line matches “${q}”` : 'no output yet')
        : `lines ${page.start + 1}–${page.total} of ${page.total}${q ? ` matching “${q}”` : ''}`;
    } catch (e) {
      this.logLines.replaceChildren(el('div', 'gbx-error', String((e as Error).message)));
    }
  }

  private logsTab(): Widget {
    const tab = new Tab('Logs', 'gbx-tab-logs');
    const older = this.logOlder;
    older.onclick = () => {
      if (this.logStart > 0) {     // only the lines above the first one shown: no repeats
        const from = Math.max(0, this.logStart - 500);
        void this.loadLogs(from, this.logStart - from);
      }
    };
    this.search.placeholder = 'search';
    this.search.onchange = () => void this.loadLogs();
    this.followBox.type = 'checkbox';
    this.followBox.checked = true;
    this.followBox.onchange = () => this.live.setFollow(this.id, this.followBox.checked ? [this.row.id] : []);
    tab.node.append(el('div', 'gbx-toolbar', older, this.search,
      el('label', '', this.followBox, ' follow'), this.logInfo), this.logLines);
    this.live.setFollow(this.id, [this.row.id]);
    void this.loadLogs();
    return tab;
  }

  // ---- Inspect, Namespaces, Changes ----------------------------------------------
  private jsonTab(label: string, view: string): Widget {
    const tab = new Tab(label, `gbx-tab-${view}`);
    const pre = el('pre', 'gbx-json', 'loading…');
    const reload = el('button', 'gbx-btn', 'reload');
    const load = async () => {
      try {
        const doc = await api(this.path(view));
        pre.textContent = `// docker-style inspect\n${JSON.stringify(doc.inspect, null, 2)}\n\n` +
          `// the process spec glassbox derived (what runtime.init makes into namespaces, mounts, execve)\n` +
          `${JSON.stringify(doc.process_spec, null, 2)}`;
      } catch (e) {
        pre.textContent = String((e as Error).message);
      }
    };
    reload.onclick = () => void load();
    tab.node.append(el('div', 'gbx-toolbar', reload), pre);
    void load();
    return tab;
  }

  private namespacesTab(): Widget {
    const tab = new Tab('Namespaces', 'gbx-tab-namespaces');
    const body = el('div', '');
    const load = async () => {
      try {
        const doc = await api(this.path('namespaces'));
        const table = el('table', 'gbx-table', el('tr', '', el('th', '', 'kind'),
          el('th', '', `container (pid ${doc.pid})`), el('th', '', 'host'), el('th', '', '')));
        for (const r of doc.rows) {
          table.append(el('tr', r.shared ? 'gbx-shared' : 'gbx-own', el('td', '', r.kind),
            el('td', '', String(r.container)), el('td', '', String(r.host)),
            el('td', '', r.what || (r.shared ? 'shared with the host' : 'its own'))));
        }
        body.replaceChildren(table);
      } catch (e) {
        body.replaceChildren(el('div', 'gbx-error', String((e as Error).message)));
      }
    };
    const reload = el('button', 'gbx-btn', 'reload');
    reload.onclick = () => void load();
    tab.node.append(el('div', 'gbx-toolbar', reload), body);
    void load();
    return tab;
  }

  private changesTab(): Widget {
    const tab = new Tab('Changes', 'gbx-tab-changes');
    const body = el('pre', 'gbx-json');
    const load = async () => {
      try {
        const rows = await api<any[]>(this.path('changes'));
        body.textContent = rows.length ? rows.map(r => `${r.kind} ${r.path}`).join('\n') : 'no changes in the read/write layer';
      } catch (e) {
        body.textContent = String((e as Error).message);
      }
    };
    const reload = el('button', 'gbx-btn', 'reload');
    reload.onclick = () => void load();
    tab.node.append(el('div', 'gbx-toolbar', reload, el('span', 'gbx-sub', ' A added · C changed · D deleted')), body);
    void load();
    return tab;
  }

  // ---- Stats ---------------------------------------------------------------
  private statsTab(): Widget {
    const tab = new Tab('Stats', 'gbx-tab-stats');
    this.canvas.width = 640;
    this.canvas.height = 240;
    this.limitInput.placeholder = this.row.memory_limit ? `${Math.round(this.row.memory_limit / 1048576)}m` : 'e.g. 64m';
    const apply = el('button', 'gbx-btn gbx-apply-limit', 'set memory limit');
    const set = async () => {
      try {
        const out = await post(this.path('update'), { memory: this.limitInput.value });
        this.limitMsg.textContent = `limit now ${bytes(out.limits.memory)} (glassbox update)`;
        this.limitInput.value = '';
      } catch (e) {
        this.limitMsg.textContent = String((e as Error).message);
      }
    };
    apply.onclick = () => void set();
    this.limitInput.onkeydown = ev => {
      if (ev.key === 'Enter') {
        void set();
      }
    };
    tab.node.append(el('div', 'gbx-toolbar', 'memory limit ', this.limitInput, apply, this.limitMsg), this.canvas);
    drawChart(this.canvas, this.history.get(this.row.id));
    return tab;
  }

  // ---- Terminal ------------------------------------------------------------
  private terminalTab(): Widget {
    const tab = new BoxPanel();
    tab.title.label = 'Terminal';
    tab.addClass('gbx-tab');
    tab.addClass('gbx-tab-terminal');
    return tab;
  }

  private async openTerminal(tab: BoxPanel): Promise<void> {
    if (this.terminalStarted) {
      return;
    }
    this.terminalStarted = true;
    let detail: any;
    try {
      detail = await api(`containers/${encodeURIComponent(this.row.id)}`);
      if (!detail.running) {
        throw new Error(`${this.row.name} is not running: start it to open a shell in it`);
      }
    } catch (e) {
      this.terminalStarted = false;       // the next visit to the tab tries again
      tab.node.replaceChildren(el('div', 'gbx-error', String((e as Error).message)));
      return;
    }
    tab.node.replaceChildren();
    const session = await this.services.terminals.startNew();
    const term = new Terminal(session, { initialCommand: `exec ${detail.exec_command}` });
    term.title.label = 'Terminal';
    this.terminal = term;
    term.addClass('gbx-terminal');
    tab.addWidget(term);
    // the shell exits (or the container stops): say so; the next visit opens a new one
    session.disposed.connect(() => {
      term.dispose();
      this.terminal = null;
      this.terminalStarted = false;
      tab.node.replaceChildren(el('div', 'gbx-sub', 'the shell ended; open this tab again for a new one'));
    });
    setTimeout(() => term.activate(), 100);
  }
}
