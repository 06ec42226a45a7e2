import { Shell } from '../../components/Shell.js';

/** A page of the dashboard's next part: the URL works, the page says what comes and where to look meanwhile. */
export function ComingSoon({ title }: { title: string }) {
  return (
    <Shell title={title}>
      <section class="panel empty">
        <h2>Coming in the next release</h2>
        <p>
          This page is part of the dashboard's next release. Meanwhile, the same data is in the API: see <a href="/docs">the API reference</a>.
        </p>
      </section>
    </Shell>
  );
}
