import { useEffect, useRef, useState } from 'preact/hooks';
import type { ChartSpec } from './chart.js';

/** Whether the system asks for the dark palette now: a chart is drawn again in the other one when it changes. */
function useScheme(): string {
  const [dark, setDark] = useState(() => matchMedia('(prefers-color-scheme: dark)').matches);
  useEffect(() => {
    const query = matchMedia('(prefers-color-scheme: dark)');
    const onChange = () => setDark(query.matches);
    query.addEventListener('change', onChange);
    return () => query.removeEventListener('change', onChange);
  }, []);
  return dark ? 'dark' : 'light';
}

/**
 * A uPlot chart, its code loaded when the first chart is drawn (a separate file: the board and every other
 * page load without it). The canvas is hidden from screen readers: the data table under it says the same.
 */
export function Chart({ name, label, spec }: { name: string; label: string; spec: ChartSpec }) {
  const el = useRef<HTMLDivElement>(null);
  const scheme = useScheme();
  const [drawn, setDrawn] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    let remove: (() => void) | null = null;
    let live = true;
    setDrawn(false);
    import('./chart.js')
      .then(({ drawChart }) => {
        if (live && el.current) remove = drawChart(el.current, spec, () => live && setDrawn(true));
      })
      .catch((error: unknown) => live && setFailed(error instanceof Error ? error.message : String(error)));
    return () => {
      live = false;
      remove?.();
    };
  }, [spec, scheme]);
  return (
    <figure class="chart" data-chart={name} data-drawn={drawn ? 'true' : undefined}>
      <figcaption class="visually-hidden">{label}</figcaption>
      {failed && <p class="error" role="alert">The chart could not load: {failed}. Its data is in the table below.</p>}
      <div ref={el} class="chart-canvas" aria-hidden="true" />
    </figure>
  );
}
