// Style sheets are imported for esbuild, which bundles them into the page's one sheet.
declare module '*.css';
