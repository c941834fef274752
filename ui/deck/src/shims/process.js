// Injected by esbuild wherever a bundled module reads the Node global `process` (browser
// builds of Deck's dependencies still probe process.env / process.browser).
export const process = { env: { NODE_ENV: 'production' }, browser: true, argv: [], version: '' };
