// Live numbers and how they are drawn: a per-container history of stats messages, tiny
// SVG sparklines for the panel rows, and a canvas chart for the Stats tab.

export interface Sample {
  t: number;          // seconds (server time)
  cpu: number;        // 100 = one core busy
  memory: number;     // bytes, as `glassbox stats`
  limit: number | null;
  pids: number;
}

const KEEP = 240; // two minutes at 2 Hz

/** The last samples of every watched container, fed from the WebSocket. */
export class History {
  private data = new Map<string, Sample[]>();

  add(id: string, s: Sample): void {
    let list = this.data.get(id);
    if (!list) {
      list = [];
      this.data.set(id, list);
    }
    list.push(s);
    if (list.length > KEEP) {
      list.splice(0, list.length - KEEP);
    }
  }

  get(id: string): Sample[] {
    return this.data.get(id) || [];
  }

  last(id: string): Sample | undefined {
    const l = this.get(id);
    return l[l.length - 1];
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/** An SVG polyline of `values` scaled to `max` (the limit), `n` points wide. */
export function sparkline(values: number[], max: number, cls: string, n = 30): SVGSVGElement {
  const w = 60;
  const h = 16;
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', `gbx-spark ${cls}`);
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  const vs = values.slice(-n);
  const top = Math.max(max, ...vs, 1e-9);
  const pts = vs.map((v, i) => {
    const x = w - ((vs.length - 1 - i) / (n - 1)) * w;   // the newest at the right edge
    const y = h - 1 - (Math.max(0, v) / top) * (h - 2);
    return `${x.toFixed(1)},${y.toFixed(1)}`;
  });
  const line = document.createElementNS(SVG, 'polyline');
  line.setAttribute('points', pts.join(' '));
  svg.append(line);
  return svg;
}

/** The Stats tab's chart: CPU % (left scale) and memory against its limit (right). */
export function drawChart(canvas: HTMLCanvasElement, samples: Sample[]): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) {
    return;
  }
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  const style = getComputedStyle(canvas);
  const fg = style.getPropertyValue('--jp-ui-font-color1') || '#333';
  ctx.font = '11px sans-serif';
  ctx.fillStyle = fg;
  if (samples.length < 2) {
    ctx.fillText('waiting for samples…', 10, 20);
    return;
  }
  const t0 = samples[0].t;
  const t1 = samples[samples.length - 1].t;
  const span = Math.max(t1 - t0, 1);
  const x = (t: number) => 40 + ((t - t0) / span) * (w - 90);
  const cpuMax = Math.max(100, ...samples.map(s => s.cpu));
  const limit = samples[samples.length - 1].limit;
  // every limit on screen fits (a limit lowered live is drawn as a step down from the old one)
  const memMax = Math.max(...samples.map(s => Math.max(s.limit || 0, s.memory))) * 1.1 || 1;
  const y = (v: number, max: number) => h - 20 - (v / max) * (h - 40);
  // `step`: a value that holds until it changes (a limit), drawn flat then straight down/up
  const line = (vals: number[], max: number, color: string, dash: number[] = [], step = false) => {
    ctx.beginPath();
    ctx.setLineDash(dash);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    samples.forEach((s, i) => {
      const px = x(s.t);
      const py = y(vals[i], max);
      if (i === 0) {
        ctx.moveTo(px, py);
      } else {
        if (step) {
          ctx.lineTo(px, y(vals[i - 1], max));
        }
        ctx.lineTo(px, py);
      }
    });
    ctx.stroke();
    ctx.setLineDash([]);
  };
  line(samples.map(s => s.cpu), cpuMax, '#e07020');
  line(samples.map(s => s.memory), memMax, '#2070c0');
  if (limit) {
    line(samples.map(s => s.limit || 0), memMax, '#c02020', [5, 4], true);
  }
  const last = samples[samples.length - 1];
  ctx.fillStyle = '#e07020';
  ctx.fillText(`CPU ${last.cpu.toFixed(0)}%`, 40, 12);
  ctx.fillStyle = '#2070c0';
  ctx.fillText(`memory ${(last.memory / 1048576).toFixed(1)} MiB`, 120, 12);
  ctx.fillStyle = '#c02020';
  ctx.fillText(limit ? `limit ${(limit / 1048576).toFixed(0)} MiB` : 'no memory limit', 260, 12);
  ctx.fillStyle = fg;
  ctx.fillText(`pids ${last.pids}`, 380, 12);
  // the two scales: CPU % on the left, memory on the right
  ctx.fillStyle = '#e07020';
  ctx.fillText(`${cpuMax.toFixed(0)}%`, 2, y(cpuMax, cpuMax) + 4);
  ctx.fillText('0', 2, y(0, cpuMax));
  ctx.fillStyle = '#2070c0';
  ctx.fillText(`${(memMax / 1048576).toFixed(0)} MiB`, w - 48, y(memMax, memMax) + 4);
  ctx.fillText(`last ${span.toFixed(0)} s`, w - 62, h - 5);
}
