import { fileURLToPath } from 'node:url';
import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/**
 * The dashboard's build: one HTML page, hashed files under /assets/ (served with a year's cache by
 * src/api/dashboard.ts). No inline script anywhere, so the page runs under `script-src 'self'`: the
 * modulepreload polyfill (an inline-able helper for browsers without <link rel=modulepreload>, which every
 * browser we support has) is turned off, and assets are never inlined as data: URIs into scripts.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [preact({ devToolsEnabled: false, prefreshEnabled: false })],
  build: {
    outDir: fileURLToPath(new URL('../dist/web/', import.meta.url)),
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
