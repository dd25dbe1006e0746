import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  HttpApi,
  HttpMethod,
  HttpStage,
  type IHttpRouteAuthorizer,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { ApiDefinition, ObservabilityDefinition } from '../src/deploy/resources.ts';
import type { ApiAuthorization } from './config.ts';

/**
 * The routes of the HTTP API contract (`src/api/jobs-api.ts`), all served by the ingest function: it
 * reads the stats the stats function keeps, and knows the targets' breakers. `/health` is the old name of
 * `/health/live`; `/metrics` answers where the cloud's metrics are.
 */
export const HTTP_ROUTES: readonly { method: HttpMethod; path: string }[] = [
  { method: HttpMethod.POST, path: '/jobs' },
  { method: HttpMethod.GET, path: '/jobs' },
  { method: HttpMethod.GET, path: '/jobs/{id}' },
  { method: HttpMethod.DELETE, path: '/jobs/{id}' },
  { method: HttpMethod.POST, path: '/jobs/{id}/retry' },
  { method: HttpMethod.GET, path: '/jobs/{id}/result' },
  { method: HttpMethod.GET, path: '/jobs/{id}/rejects' },
  { method: HttpMethod.GET, path: '/jobs/{id}/tasks' },
  { method: HttpMethod.GET, path: '/jobs/{id}/timeline' },
  { method: HttpMethod.GET, path: '/health' },
  { method: HttpMethod.GET, path: '/health/live' },
  { method: HttpMethod.GET, path: '/health/ready' },
  { method: HttpMethod.GET, path: '/stats' },
  { method: HttpMethod.GET, path: '/targets' },
  { method: HttpMethod.GET, path: '/metrics' },
];

// One JSON object a request; $context.identity.userArn names the IAM caller of a signed request.
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationError: '$context.integrationErrorMessage',
    authorizerError: '$context.authorizer.error',
    caller: '$context.identity.userArn',
    sourceIp: '$context.identity.sourceIp',
  }),
);

export interface FanoutHttpApiProps {
  definition: ApiDefinition;
  authorization: ApiAuthorization;
  observability: ObservabilityDefinition;
  ingest: IFunction;
}

/**
 * The HTTP API (API Gateway v2): every route behind IAM authorization (SigV4-signed requests) unless the
 * configuration asks for a JWT authorizer, a throttled `$default` stage, and access logs.
 */
export class FanoutHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: FanoutHttpApiProps) {
    super(scope, id);
    const { definition, authorization, observability } = props;
    const authorizer: IHttpRouteAuthorizer =
      authorization.kind === 'jwt'
        ? new HttpJwtAuthorizer('JwtAuthorizer', authorization.issuer, {
            jwtAudience: authorization.audience,
          })
        : new HttpIamAuthorizer();
    this.api = new HttpApi(this, 'Api', {
      apiName: definition.name,
      description: 'Fanout: submit jobs and follow them',
      defaultAuthorizer: authorizer,
      createDefaultStage: false,
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: observability.logRetentionDays as RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: definition.throttleRateLimit, burstLimit: definition.throttleBurstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
    });
    const integration = new HttpLambdaIntegration('Ingest', props.ingest);
    for (const route of HTTP_ROUTES) {
      this.api.addRoutes({ path: route.path, methods: [route.method], integration });
    }
  }
}
