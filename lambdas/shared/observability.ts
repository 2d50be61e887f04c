/** Logger and metrics, created once per function instance (Powertools; metrics are EMF log lines). */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

export const logger = new Logger();
export const metrics = new Metrics({ defaultDimensions: { Stage: process.env.MLOPS_STAGE ?? 'local' } });
