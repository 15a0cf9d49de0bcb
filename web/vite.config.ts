// Builds the single-page app into the gateway's static folder, which the gateway serves at `/`.
import { defineConfig, type Plugin } from 'vite';

// Air-gapped sites: the page may talk to its own origin only. Added at build time only, because
// Vite's dev server injects inline styles that this policy would block.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
].join('; ');

function contentSecurityPolicy(): Plugin {
  return {
    name: 'enclave-csp',
    apply: 'build',
    transformIndexHtml: (html) =>
      html.replace('<meta charset="utf-8" />', `<meta charset="utf-8" />\n    <meta http-equiv="Content-Security-Policy" content="${CSP}" />`),
  };
}

export default defineConfig({
  base: '/',
  plugins: [contentSecurityPolicy()],
  build: {
    outDir: '../gateway/static',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
  server: {
    proxy: { '/v1': process.env.ENCLAVE_URL ?? 'http://127.0.0.1:8000' },
  },
});
