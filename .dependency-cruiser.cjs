// The folders under src/ are floors: each may import only from the floors
// below it (type-only imports count too), and no files import each other in a
// cycle. `npm run deps` checks it; CI runs it as the step "folders".
// docs/decisions.md says why this order.

/** Lowest first. src/main.ts and src/gateway.ts, at the root, stand on top and assemble everything. */
const FLOORS = [
  'config',
  'domain',
  'observability',
  'partner-center',
  'quota',
  'sign-in',
  'customer-base',
  'request',
  'schema',
  'server',
  'page',
];
/** Beside the floors: runtime/ imports nothing of src/; simulator/ only domain/, and only the root imports it. */
const ASIDE = ['runtime', 'simulator'];
const ROOT_FILE = '^src/[^/]+$';
const folders = (names) => `^src/(${names.join('|')})/`;

const floorRules = FLOORS.map((floor, index) => ({
  name: `floor-${floor}`,
  comment: `src/${floor}/ may import only the floors below it: ${FLOORS.slice(0, index).join(', ') || 'none'}.`,
  severity: 'error',
  from: { path: folders([floor]) },
  to: { path: [folders([...FLOORS.slice(index + 1), 'simulator']), ROOT_FILE] },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No module may reach itself through its imports.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    ...floorRules,
    {
      name: 'runtime-aside',
      comment: 'src/runtime/ is a leaf any floor may use: it imports nothing else of src/.',
      severity: 'error',
      from: { path: folders(['runtime']) },
      to: { path: '^src/', pathNot: folders(['runtime']) },
    },
    {
      name: 'simulator-aside',
      comment: "src/simulator/ stands beside the floors: it uses only domain/'s shapes (and runtime/).",
      severity: 'error',
      from: { path: folders(['simulator']) },
      to: { path: '^src/', pathNot: folders(['simulator', 'domain', 'runtime']) },
    },
    {
      name: 'known-folder',
      comment: 'Every folder under src/ has its place: a new one is added to FLOORS or ASIDE first.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/[^/]+/', pathNot: folders([...FLOORS, ...ASIDE]) },
    },
  ],
  options: {
    // Type-only imports are imports too: seen only before TypeScript drops them.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
  },
};
