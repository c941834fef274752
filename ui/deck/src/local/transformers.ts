// Transformers Deck's core delegates to (CloudProviderRegistry keys serverGroup.transformer,
// loadBalancer.transformer, securityGroup.transformer/reader). Core instantiates each class
// with `new Class($q)` and expects promises back.
import type { IQService } from 'angular';

import type { IInstance, IInstanceCounts, ILoadBalancer, IServerGroup } from '@spinnaker/core';
import { NameUtils } from '@spinnaker/core';

import type { ILocalDeployCommand } from './commandBuilder';

export const PROVIDER = 'local';
export const REGION = 'localhost';

function emptyCounts(): IInstanceCounts {
  return { up: 0, down: 0, starting: 0, outOfService: 0, unknown: 0, succeeded: 0, failed: 0, total: 0 };
}

// Counts instances by Spinnaker health state; Deck's HealthCounts reads these keys.
export function countInstances(instances: IInstance[]): IInstanceCounts {
  const counts = emptyCounts();
  for (const i of instances) {
    counts.total++;
    switch (i.healthState) {
      case 'Up':
        counts.up++;
        break;
      case 'Down':
        counts.down++;
        break;
      case 'Starting':
        counts.starting++;
        break;
      case 'OutOfService':
        counts.outOfService++;
        break;
      default:
        counts.unknown++;
    }
  }
  return counts;
}

// Instance lookups in core (AccountService.getAccountForInstance, the instance links) need
// the provider, account and region on each instance, which gate's instance views leave out.
function tagInstances(instances: IInstance[], account: string, serverGroup: string): void {
  for (const i of instances || []) {
    i.provider = PROVIDER;
    i.cloudProvider = PROVIDER;
    i.account = i.account || account;
    i.region = i.region || REGION;
    i.serverGroup = i.serverGroup || serverGroup;
    i.health = i.health || [];
  }
}

export class LocalServerGroupTransformer {
  constructor(private $q: IQService) {}

  public normalizeServerGroup(serverGroup: IServerGroup): PromiseLike<IServerGroup> {
    serverGroup.type = PROVIDER;
    serverGroup.provider = PROVIDER;
    serverGroup.cloudProvider = PROVIDER;
    serverGroup.region = serverGroup.region || REGION;
    // A single server group may come in clouddriver's detail shape (`disabled`).
    if (serverGroup.isDisabled === undefined && (serverGroup as any).disabled !== undefined) {
      serverGroup.isDisabled = !!(serverGroup as any).disabled;
    }
    serverGroup.instances = serverGroup.instances || [];
    tagInstances(serverGroup.instances, serverGroup.account, serverGroup.name);
    serverGroup.instanceCounts = serverGroup.instanceCounts || countInstances(serverGroup.instances);
    serverGroup.loadBalancers = serverGroup.loadBalancers || [];
    serverGroup.securityGroups = serverGroup.securityGroups || [];
    return this.$q.when(serverGroup);
  }

  // The deploy form's command -> a deploy stage cluster / createServerGroup job, in the JSON
  // our orca and clouddriver take (README "A deploy description"; scripts/demo.sh).
  public convertServerGroupCommandToDeployConfiguration(command: ILocalDeployCommand): any {
    const out: any = {
      application: command.application,
      stack: command.stack || '',
      freeFormDetails: command.freeFormDetails || '',
      account: command.credentials,
      credentials: command.credentials,
      cloudProvider: PROVIDER,
      provider: PROVIDER,
      region: REGION,
      availabilityZones: { [REGION]: [REGION] },
      capacity: { ...command.capacity },
      command: (command.command || []).filter((a) => a !== ''),
      env: { ...(command.env || {}) },
      healthCheck: { ...command.healthCheck },
      loadBalancers: [...(command.loadBalancers || [])],
      securityGroups: [...(command.securityGroups || [])],
      strategy: command.strategy || '',
    };
    if (command.strategy === 'redblack') {
      out.maxRemainingAsgs = command.maxRemainingAsgs;
      out.scaleDown = !!command.scaleDown;
      if (command.delayBeforeDisableSec) out.delayBeforeDisableSec = command.delayBeforeDisableSec;
      if (command.delayBeforeScaleDownSec) out.delayBeforeScaleDownSec = command.delayBeforeScaleDownSec;
    }
    if (command.rollbackOnFailure) out.rollback = { onFailure: true };
    // A clone inherits from its source what the form left unset.
    if (command.env == null) delete out.env;
    if (command.healthCheck == null) delete out.healthCheck;
    if (command.source && out.command.length === 0) delete out.command;
    if (command.type) out.type = command.type;
    if (command.source) out.source = command.source;
    return out;
  }
}

export class LocalLoadBalancerTransformer {
  constructor(private $q: IQService) {}

  // Core's load balancer views want instances and counts on the load balancer and on each
  // server group behind it; a disabled group's instances do not count as serving.
  public normalizeLoadBalancer(lb: ILoadBalancer): PromiseLike<ILoadBalancer> {
    lb.type = PROVIDER;
    lb.provider = PROVIDER;
    lb.cloudProvider = PROVIDER;
    lb.region = lb.region || REGION;
    const groups: any[] = (lb.serverGroups = lb.serverGroups || []);
    const serving: IInstance[] = [];
    for (const g of groups) {
      g.account = g.account || lb.account;
      g.region = g.region || REGION;
      g.cloudProvider = PROVIDER;
      g.instances = g.instances || [];
      g.detachedInstances = g.detachedInstances || [];
      tagInstances(g.instances, lb.account, g.name);
      if (!g.moniker) {
        const p = NameUtils.parseServerGroupName(g.name);
        const seq = /-v(\d{3})$/.exec(g.name || '');
        g.moniker = { ...NameUtils.getMoniker(p.application, p.stack, p.freeFormDetails) };
        if (seq) g.moniker.sequence = Number(seq[1]);
      }
      if (!g.isDisabled) serving.push(...g.instances);
    }
    lb.instances = serving;
    lb.instanceCounts = countInstances(serving);
    (lb as any).listeners = (lb as any).listeners || [];
    return this.$q.when(lb);
  }
}

export class LocalSecurityGroupTransformer {
  constructor(private $q: IQService) {}

  public normalizeSecurityGroup(securityGroup: any): PromiseLike<any> {
    securityGroup.provider = securityGroup.provider || PROVIDER;
    securityGroup.type = securityGroup.type || PROVIDER;
    return this.$q.when(securityGroup);
  }
}

// Resolves the security group a server group, load balancer or search hit names, in the index
// core builds from GET /securityGroups ({account: {region: {idOrName: group}}}).
export class LocalSecurityGroupReader {
  public resolveIndexedSecurityGroup(index: any, container: any, id: string): any {
    const account = container.account || container.accountName;
    const region = container.region || REGION;
    // Search hits (core's name-based firewalls) carry a name but no id.
    const key = id || container.name;
    const found = index?.[account]?.[region]?.[key];
    if (!found) {
      throw new Error(`no security group ${key} in ${account}/${region}`);
    }
    return found;
  }
}
