// Deck module for Gennaker's `local` cloud provider (server groups = supervised processes on
// this machine, load balancers = HTTP reverse proxies, firewalls = ingress rules; README
// "Deploying: clouddriver and the local cloud provider"). It registers `local` with Deck's
// CloudProviderRegistry so core renders local clusters, load balancers and firewalls, and
// gives the details panes, the server group actions and the deploy form. Registration only
// takes effect when SETTINGS.providers.local exists (ui/deck/src/settings.ts).
//
// Stable DOM hooks (data-test attributes) for the browser test:
//   every local modal:   local-modal (its root), local-submit, local-cancel,
//                        local-task-status (text: SUBMITTING | RUNNING | SUCCEEDED | FAILED)
//   deploy form:         local-deploy-form, local-account, local-stack, local-detail,
//     (create server     local-command (textarea, one argv element per line),
//      group, clone,     local-env (textarea, KEY=value per line),
//      deploy stage      local-health-path, local-health-interval, local-health-timeout,
//      "Add server       local-health-healthy, local-health-unhealthy,
//      group")           local-capacity-min, local-capacity-max, local-capacity-desired,
//                        local-load-balancers (<select multiple>), local-security-groups
//                        (<select multiple>), local-strategy (<select>: "" | highlander |
//                        redblack), local-max-remaining, local-scale-down (checkbox, red/black
//                        only), local-rollback-on-failure (checkbox, pipeline only)
//   server group pane:   local-sg-info, local-sg-status (Enabled | Disabled), local-sg-command,
//                        local-sg-capacity, local-sg-desired, local-sg-instances,
//                        local-sg-actions (the "Server Group Actions" toggle), local-action-resize,
//                        local-action-enable, local-action-disable, local-action-rollback,
//                        local-action-clone, local-action-destroy
//   resize modal:        local-resize-min, local-resize-max, local-resize-desired
//   rollback modal:      local-rollback-restore (<select>)
//   instance pane:       local-instance-details, local-instance-health, local-instance-port
//   load balancer:       local-lb-details, local-lb-listeners, local-lb-firewalls,
//                        local-lb-server-groups, local-lb-edit, local-lb-delete; create modal:
//                        local-lb-account, local-lb-stack, local-lb-detail, local-lb-port,
//                        local-lb-security-groups
//   firewall:            local-fw-details, local-fw-rules-table, local-fw-edit; create modal:
//                        local-fw-account, local-fw-name, local-fw-rules (textarea,
//                        "CIDR PORT[-PORT]" per line)
import { module } from 'angular';
import React from 'react';

import { CloudProviderRegistry } from '@spinnaker/core';

import { LocalServerGroupCommandBuilder } from './commandBuilder';
import { LocalDeployModal } from './DeployModal';
import { LocalInstanceDetails } from './instance';
import { LocalLoadBalancerDetails, LocalLoadBalancerModal } from './loadBalancer';
import { LocalSecurityGroupDetails, LocalSecurityGroupModal } from './securityGroup';
import {
  LocalCapacitySection,
  LocalInformationSection,
  LocalInstancesSection,
  LocalServerGroupActions,
  localServerGroupDetailsGetter,
} from './serverGroup';
import {
  LocalLoadBalancerTransformer,
  LocalSecurityGroupReader,
  LocalSecurityGroupTransformer,
  LocalServerGroupTransformer,
} from './transformers';

export const LOCAL_MODULE = 'gennaker.local';

// A small sail, the provider's logo in Deck's headers and provider pickers.
function LocalLogo(props: { height: string; width: string }) {
  return React.createElement(
    'svg',
    { viewBox: '0 0 24 24', height: props.height, width: props.width, 'aria-label': 'local' },
    React.createElement('path', { d: 'M4 21 L12 2 L12 21 Z', fill: '#139bb4' }),
    React.createElement('path', { d: 'M13 6 L21 21 L13 21 Z', fill: '#5b6f7b' }),
  );
}

// Registered at import time, as Deck's own provider modules do: core reads the registry while
// it bootstraps.
CloudProviderRegistry.registerProvider('local', {
  name: 'Local',
  cloudProviderLogo: LocalLogo,
  // Local server groups run a command, not a baked image: no Bake/Find Image stage needed.
  serverGroup: {
    skipUpstreamStageCheck: true,
    transformer: LocalServerGroupTransformer,
    commandBuilder: LocalServerGroupCommandBuilder,
    CloneServerGroupModal: LocalDeployModal,
    detailsGetter: localServerGroupDetailsGetter,
    detailsSections: [LocalInformationSection, LocalCapacitySection, LocalInstancesSection],
    detailsActions: LocalServerGroupActions,
    scalingActivitiesEnabled: false,
  },
  instance: {
    details: LocalInstanceDetails,
  },
  loadBalancer: {
    transformer: LocalLoadBalancerTransformer,
    details: LocalLoadBalancerDetails,
    CreateLoadBalancerModal: LocalLoadBalancerModal,
  },
  securityGroup: {
    transformer: LocalSecurityGroupTransformer,
    reader: LocalSecurityGroupReader,
    details: LocalSecurityGroupDetails,
    CreateSecurityGroupModal: LocalSecurityGroupModal,
  },
});

module(LOCAL_MODULE, []);
