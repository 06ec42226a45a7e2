import { Shell } from '../../components/Shell.js';

export function NotFound() {
  return (
    <Shell title="Not found">
      <section class="panel empty">
        <h2>No page here</h2>
        <p>
          Go to the <a href="/">live board</a> or the <a href="/calls">calls</a>.
        </p>
      </section>
    </Shell>
  );
}
