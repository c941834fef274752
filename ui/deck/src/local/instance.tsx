// The instance details pane (instance.details): a local instance is one supervised process;
// gate's GET /instances/{account}/{region}/{id} gives its health, port and pid.
import React from 'react';

import type { Application, IInstance, IServerGroup } from '@spinnaker/core';
import { CollapsibleSection, InstanceReader, timestamp } from '@spinnaker/core';
import { CloseButton, PaneMessage } from './panes';

interface ILocalInstanceDetailsProps {
  app: Application;
  accountId: string;
  $stateParams: { provider: string; instanceId: string };
}

// The server group (from the application's data) holding the instance.
function groupOf(app: Application, id: string): IServerGroup {
  return ((app.serverGroups.data as IServerGroup[]) || []).find((g) => (g.instances || []).some((i) => i.id === id));
}

export function LocalInstanceDetails(props: ILocalInstanceDetailsProps) {
  const { app, accountId } = props;
  const id = props.$stateParams.instanceId;
  const [instance, setInstance] = React.useState<any>(null);
  const [error, setError] = React.useState('');
  React.useEffect(() => {
    let live = true;
    const load = () => {
      const group = groupOf(app, id);
      const region = (group && group.region) || 'localhost';
      const account = accountId || (group && group.account);
      Promise.resolve(InstanceReader.getInstanceDetails(account, region, id)).then(
        (details: IInstance) => live && (setInstance({ ...details, account, region }), setError('')),
        () => live && setError(`Instance ${id} not found (it may have been replaced).`),
      );
    };
    load();
    const unsubscribe = app.serverGroups.onRefresh(null, load);
    return () => {
      live = false;
      unsubscribe();
    };
  }, [id, accountId]);

  if (!instance) {
    return <PaneMessage>{error || 'Loading...'}</PaneMessage>;
  }
  const health: any[] = instance.health || [];
  return (
    <div className="details-panel" data-test="local-instance-details">
      <div className="header">
        <CloseButton />
        <div className="header-text horizontal middle">
          <span className={`glyphicon glyphicon-hdd ${instance.healthState}`} />
          <h3 className="horizontal middle space-between flex-1">{id}</h3>
        </div>
      </div>
      <div className="content">
        <CollapsibleSection heading="Instance Information" defaultExpanded={true}>
          <dl className="dl-horizontal dl-narrow">
            <dt>Launched</dt>
            <dd>{instance.launchTime ? timestamp(instance.launchTime) : 'unknown'}</dd>
            <dt>Server group</dt>
            <dd>{instance.serverGroup}</dd>
            <dt>Account</dt>
            <dd>{instance.account}</dd>
            <dt>Region</dt>
            <dd>{instance.region}</dd>
            <dt>Port</dt>
            <dd data-test="local-instance-port">
              {instance.port}{' '}
              {instance.port && (
                <a
                  href={`http://${window.location.hostname}:${instance.port}/`}
                  target="_blank"
                  rel="noopener noreferrer"
                >
                  open
                </a>
              )}
            </dd>
            <dt>PID</dt>
            <dd>{instance.pid}</dd>
          </dl>
        </CollapsibleSection>
        <CollapsibleSection heading="Status" defaultExpanded={true}>
          <dl className="dl-horizontal dl-narrow">
            <dt>Health</dt>
            <dd data-test="local-instance-health">{instance.healthState}</dd>
            {health.map((h, i) => (
              <React.Fragment key={i}>
                <dt>{h.type}</dt>
                <dd>{h.state}</dd>
              </React.Fragment>
            ))}
          </dl>
        </CollapsibleSection>
      </div>
    </div>
  );
}
