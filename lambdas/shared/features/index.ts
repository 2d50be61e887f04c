export * from './csv.ts';
export * from './spec.ts';
export * from './transform.ts';
