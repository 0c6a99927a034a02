// The glassbox JupyterLab extension: a left-sidebar panel, a detail view per container in
// the main area and a status-bar item, all live from the server part (glassbox.lab).
import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { MainAreaWidget } from '@jupyterlab/apputils';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';
import { bytes, el, Live } from './api';
import { History } from './charts';
import { ContainerDetail } from './detail';
import { glassboxIcon } from './icon';
import { liveChartFactory } from './livechart';
import { GlassboxPanel, Row } from './panel';


const plugin: JupyterFrontEndPlugin<void> = {
  id: 'glassbox-lab:plugin',
  description: 'glassbox containers, images, networks and volumes, live from their cgroups.',
  autoStart: true,
  requires: [ILabShell],
  optional: [IStatusBar, IRenderMimeRegistry],
  activate: (app: JupyterFrontEnd, shell: ILabShell, statusBar: IStatusBar | null,
    rendermime: IRenderMimeRegistry | null) => {
    const live = new Live();
    const history = new History();
    const open = new Map<string, MainAreaWidget<ContainerDetail>>();
    const openDetail = (row: Row) => {
      let w = open.get(row.id);
      if (!w || w.isDisposed) {
        const detail = new ContainerDetail(row, live, history, app.serviceManager);
        w = new MainAreaWidget({ content: detail });
        w.id = detail.id;
        w.title.label = detail.title.label;
        w.title.icon = glassboxIcon;
        w.title.closable = true;
        open.set(row.id, w);
        shell.add(w, 'main');
      }
      shell.activateById(w.id);
    };
    const panel = new GlassboxPanel(live, history, openDetail);
    panel.title.icon = glassboxIcon;
    shell.add(panel, 'left', { rank: 150 });

    // the notebook output of glassbox.jupyter.monitor(c): a chart drawn here, not in the kernel.
    // Its kernel is the one of the notebook panel the output sits in (told by comm to stop
    // redrawing its PNG).
    const kernelOf = (node: HTMLElement) => {
      for (const w of shell.widgets('main')) {
        const ctx = (w as any).sessionContext;
        if (ctx && w.node.contains(node)) {
          return ctx.session?.kernel ?? null;
        }
      }
      return null;
    };
    rendermime?.addFactory(liveChartFactory(live, kernelOf));

    app.commands.addCommand('glassbox:open-panel', {
      label: 'Show the glassbox panel',
      execute: () => shell.activateById(panel.id)
    });

    if (statusBar) {
      const node = el('div', 'gbx-status', 'glassbox');
      node.title = 'glassbox: running containers, total CPU and memory of their cgroups';
      node.onclick = () => shell.activateById(panel.id);
      live.on(m => {
        if (m.type === 'status') {
          node.classList.toggle('gbx-status-error', !m.ok);
          node.textContent = !m.ok ? 'glassbox: engine unreachable'
            : `glassbox: ${m.running} running` + (m.cpu === null ? '' : ` · CPU ${m.cpu.toFixed(0)}% · ${bytes(m.memory)}`);
        } else if (m.type === 'connection' && !m.connected) {
          node.textContent = 'glassbox: reconnecting…';
        }
      });
      statusBar.registerStatusItem('glassbox-lab:status', {
        item: new Widget({ node }),
        align: 'left',
        rank: 50
      });
    }
  }
};

export default plugin;
