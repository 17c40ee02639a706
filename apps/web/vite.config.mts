import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/** Writes a gzipped copy beside each script and stylesheet; the API serves it to browsers that take gzip. */
function gzipAssets(): Plugin {
  return {
    name: 'gzip-assets',
    apply: 'build',
    writeBundle(options, bundle) {
      for (const file of Object.keys(bundle).filter((f) => /\.(js|css|svg)$/.test(f))) {
        const path = join(options.dir!, file);
        writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
      }
    },
  };
}

// The console is built into the API's distribution (dist/web), which serves it at / (CONSOLE_DIR).
export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  plugins: [gzipAssets()],
  build: {
    outDir: resolve(import.meta.dirname, '../../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // Every browser the console supports preloads modules itself.
    modulePreload: { polyfill: false },
    // No data: URLs: the Content-Security-Policy allows images from the API's origin only.
    assetsInlineLimit: 0,
  },
  // `npm run dev:web`: the console with hot reload, its API calls sent to the API of `make up`.
  server: { port: 5173, strictPort: true, proxy: { '/api': 'http://127.0.0.1:3000' } },
});
