export * from './xgboost.ts';
