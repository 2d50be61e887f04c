export * from './spec.ts';
