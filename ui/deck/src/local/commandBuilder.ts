// serverGroup.commandBuilder for the local provider: the commands Deck's core builds before
// it opens the deploy form (clusters page "Create Server Group", a server group's Clone, and a
// deploy stage's "Add server group" / edit). Core instantiates it with `new Builder($q)`.
import type { IQService } from 'angular';

import type { Application, IPipeline, IServerGroup, IStage } from '@spinnaker/core';
import { AccountService, NameUtils } from '@spinnaker/core';

import { PROVIDER, REGION } from './transformers';

export interface ILocalHealthCheck {
  path: string;
  intervalMs?: number;
  timeoutMs?: number;
  healthyThreshold?: number;
  unhealthyThreshold?: number;
}

export interface ILocalDeployCommand {
  application: string;
  stack: string;
  freeFormDetails: string;
  credentials: string;
  region: string;
  cloudProvider: string;
  selectedProvider: string;
  capacity: { min: number; max: number; desired: number };
  command: string[];
  env: { [key: string]: string };
  healthCheck: ILocalHealthCheck;
  loadBalancers: string[];
  securityGroups: string[];
  strategy: '' | 'highlander' | 'redblack';
  maxRemainingAsgs?: number;
  scaleDown?: boolean;
  delayBeforeDisableSec?: number;
  delayBeforeScaleDownSec?: number;
  rollbackOnFailure?: boolean;
  type?: string;
  source?: { account: string; region: string; serverGroupName: string; asgName: string };
  viewState: {
    mode: 'create' | 'clone' | 'createPipeline' | 'editPipeline';
    submitButtonLabel?: string;
    pipeline?: IPipeline;
    stage?: IStage;
    disableStrategySelection?: boolean;
  };
}

// clouddriver's health check defaults (services/clouddriver/local/instance_supervisor.h), so
// that what the form shows is what a description without them gets.
export const DEFAULT_HEALTH_CHECK: ILocalHealthCheck = {
  path: '/health',
  intervalMs: 1000,
  timeoutMs: 1000,
  healthyThreshold: 2,
  unhealthyThreshold: 3,
};

function firstAccount(): PromiseLike<string> {
  return AccountService.listAccounts(PROVIDER).then((accounts) => (accounts.length ? accounts[0].name : 'local'));
}

function baseCommand(appName: string, credentials: string, mode: ILocalDeployCommand['viewState']['mode']) {
  const command: ILocalDeployCommand = {
    application: appName,
    stack: '',
    freeFormDetails: '',
    credentials,
    region: REGION,
    cloudProvider: PROVIDER,
    selectedProvider: PROVIDER,
    capacity: { min: 1, max: 1, desired: 1 },
    command: [],
    env: {},
    healthCheck: { ...DEFAULT_HEALTH_CHECK },
    loadBalancers: [],
    securityGroups: [],
    strategy: '',
    maxRemainingAsgs: 2,
    scaleDown: false,
    rollbackOnFailure: false,
    viewState: { mode },
  };
  return command;
}

// A deploy stage cluster (or a createServerGroup job) back into the form's command.
export function commandFromCluster(cluster: any, mode: ILocalDeployCommand['viewState']['mode']): ILocalDeployCommand {
  const command = baseCommand(cluster.application, cluster.account || cluster.credentials || 'local', mode);
  command.stack = cluster.stack || '';
  command.freeFormDetails = cluster.freeFormDetails || cluster.freeFormDetail || '';
  command.capacity = { ...command.capacity, ...(cluster.capacity || {}) };
  command.command = [...(cluster.command || [])];
  command.env = { ...(cluster.env || {}) };
  command.healthCheck = { ...DEFAULT_HEALTH_CHECK, ...(cluster.healthCheck || {}) };
  command.loadBalancers = [...(cluster.loadBalancers || [])];
  command.securityGroups = [...(cluster.securityGroups || [])];
  command.strategy = cluster.strategy || '';
  command.maxRemainingAsgs = cluster.maxRemainingAsgs ?? 2;
  command.scaleDown = !!cluster.scaleDown;
  command.delayBeforeDisableSec = cluster.delayBeforeDisableSec;
  command.delayBeforeScaleDownSec = cluster.delayBeforeScaleDownSec;
  command.rollbackOnFailure = !!(cluster.rollback && cluster.rollback.onFailure);
  return command;
}

export class LocalServerGroupCommandBuilder {
  constructor(private $q: IQService) {}

  public buildNewServerGroupCommand(application: Application, options?: any): PromiseLike<ILocalDeployCommand> {
    return this.$q.when(firstAccount()).then((account) => {
      const command = baseCommand(application.name, (options && options.account) || account, 'create');
      if (options && options.mode) command.viewState.mode = options.mode;
      return command;
    });
  }

  // Clone: the source group's command, capacity, load balancers and security groups (gate's
  // server group view carries no env or health check, so those start from the defaults).
  public buildServerGroupCommandFromExisting(
    application: Application,
    serverGroup: IServerGroup,
    mode = 'clone',
  ): PromiseLike<ILocalDeployCommand> {
    const names = NameUtils.parseServerGroupName(serverGroup.name);
    const command = baseCommand(application.name, serverGroup.account, mode as any);
    command.stack = names.stack || '';
    command.freeFormDetails = names.freeFormDetails || '';
    command.capacity = {
      min: Number(serverGroup.capacity.min),
      max: Number(serverGroup.capacity.max),
      desired: Number(serverGroup.capacity.desired),
    };
    command.command = [...(((serverGroup as any).launchConfig || {}).command || [])];
    command.loadBalancers = [...(serverGroup.loadBalancers || [])];
    command.securityGroups = [...(serverGroup.securityGroups || [])];
    command.env = null;
    command.healthCheck = null;
    command.source = {
      account: serverGroup.account,
      region: serverGroup.region,
      serverGroupName: serverGroup.name,
      asgName: serverGroup.name,
    };
    return this.$q.when(command);
  }

  public buildNewServerGroupCommandForPipeline(stage: IStage, pipeline: IPipeline): PromiseLike<ILocalDeployCommand> {
    return this.$q.when(firstAccount()).then((account) => {
      const command = baseCommand(pipeline.application, account, 'createPipeline');
      command.viewState.pipeline = pipeline;
      command.viewState.stage = stage;
      return command;
    });
  }

  public buildServerGroupCommandFromPipeline(
    _application: Application,
    cluster: any,
    stage: IStage,
    pipeline: IPipeline,
  ): PromiseLike<ILocalDeployCommand> {
    const command = commandFromCluster(cluster, 'editPipeline');
    command.viewState.pipeline = pipeline;
    command.viewState.stage = stage;
    return this.$q.when(command);
  }
}
