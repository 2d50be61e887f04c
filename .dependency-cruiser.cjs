/**
 * The project's layering, checked on every `npm test` (DESIGN.md → Layout): the domain core and the
 * contracts depend on nothing of the project outside themselves and on no AWS SDK; functions do not
 * reach into each other's folders and their cores do not reach adapters; the CDK app does not depend
 * on the CLI or the twin; the CLI loads the twin only when a command needs one. Type-only imports
 * count: a cycle that works because it is `import type` is still a cycle to a reader.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules import one another in one direction only.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-stays-inside',
      severity: 'error',
      comment: 'core/ is the domain: it imports nothing of the project outside itself.',
      from: { path: '^core/' },
      to: { path: '^(contracts|lib|lambdas|cli|local|bin|bench|test|pipelines)/' },
    },
    {
      name: 'contracts-stay-inside',
      severity: 'error',
      comment: 'contracts/ holds facts shared by the deployables: it imports nothing of the project.',
      from: { path: '^contracts/' },
      to: { path: '^(core|lib|lambdas|cli|local|bin|bench|test|pipelines)/' },
    },
    {
      name: 'core-and-contracts-without-aws',
      severity: 'error',
      comment: 'No AWS SDK in the domain or the contracts; adapters live in lambdas/shared/adapters.',
      from: { path: '^(core|contracts)/' },
      to: { path: 'node_modules/@aws-sdk/' },
    },
    {
      name: 'core-and-contracts-without-io',
      severity: 'error',
      comment:
        'No file system or network in the domain or the contracts: they reach the world through ports.',
      from: { path: '^(core|contracts)/' },
      to: {
        dependencyTypes: ['core'],
        path: '^(node:)?(fs|fs/promises|net|http|https|child_process|worker_threads|dgram|tls)$',
      },
    },
    {
      name: 'functions-stay-apart',
      severity: 'error',
      comment:
        "A function does not import another function's folder; what they share is in core/ or lambdas/shared/.",
      from: { path: '^lambdas/([^/]+)/', pathNot: '^lambdas/shared/' },
      to: { path: '^lambdas/', pathNot: ['^lambdas/$1/', '^lambdas/shared/'] },
    },
    {
      name: 'function-cores-without-adapters',
      severity: 'error',
      comment: 'A function core takes its ports as arguments; only its handler builds adapters.',
      from: { path: '^lambdas/[^/]+/', pathNot: ['^lambdas/shared/', '/handler\\.ts$'] },
      to: { path: '^lambdas/shared/adapters/' },
    },
    {
      name: 'shared-plumbing-without-functions',
      severity: 'error',
      comment: 'lambdas/shared/ is plumbing for every function and imports none of them.',
      from: { path: '^lambdas/shared/' },
      to: { path: '^lambdas/', pathNot: '^lambdas/shared/' },
    },
    {
      name: 'deployables-without-tools',
      severity: 'error',
      comment:
        'What is deployed (lib/, lambdas/, core/, contracts/) depends on neither the CLI nor the twin.',
      from: { path: '^(lib|lambdas|core|contracts)/' },
      to: { path: '^(cli|local|bin|test|bench)/' },
    },
    {
      name: 'twin-without-cli',
      severity: 'error',
      comment: 'The twin does not depend on the CLI that drives it.',
      from: { path: '^local/' },
      to: { path: '^(cli|bin)/' },
    },
    {
      name: 'cli-loads-twin-on-demand',
      severity: 'error',
      comment:
        'Only commands that use the twin load it, with import(): `--stage` commands never load dynalite or s3rver.',
      from: { path: '^(cli|bin)/' },
      to: { path: '^local/', dynamic: false },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(cdk\\.out|\\.twin|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
