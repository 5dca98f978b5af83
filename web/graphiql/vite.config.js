// The build writes dist/: index.html and content-hashed files under dist/assets/, addressed
// absolutely beneath /graphiql/ where web/graphiql.go serves them. Nothing is inlined into
// index.html as script (the page's policy allows script from its own origin only), no source
// maps are written (dist/ is committed), and the output depends on the locked packages alone.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/graphiql/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    // Every browser the page supports has modulepreload; the polyfill would only add code.
    modulePreload: { polyfill: false },
    // Monaco and GraphiQL are large; the warning says nothing we can act on.
    chunkSizeWarningLimit: 8000,
    reportCompressedSize: false,
    rolldownOptions: {
      // framer-motion marks its modules "use client" for React Server Components, which a
      // bundle for the browser rightly drops; the warning for each one would bury the rest.
      onLog(level, log, handler) {
        if (log.code === 'MODULE_LEVEL_DIRECTIVE') return;
        handler(level, log);
      },
    },
  },
  worker: { format: 'es' },
});
