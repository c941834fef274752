// The server group details pane (serverGroup.detailsGetter / detailsSections / detailsActions)
// and the actions Deck offers on it: resize, enable, disable, rollback, clone, destroy, each one
// an orca task through gate (POST /tasks) via Deck's ServerGroupWriter.
import React from 'react';
import { Dropdown } from 'react-bootstrap';
import type { Observable } from 'rxjs';
import { from as observableFrom } from 'rxjs';
import { filter } from 'rxjs/operators';

import type {
  Application,
  IServerGroup,
  IServerGroupActionsProps,
  IServerGroupDetailsProps,
  IServerGroupDetailsSectionProps,
} from '@spinnaker/core';
import {
  CollapsibleSection,
  HealthCounts,
  NameUtils,
  ReactInjector,
  ReactModal,
  ServerGroupReader,
  timestamp,
} from '@spinnaker/core';

import { LocalServerGroupCommandBuilder } from './commandBuilder';
import { LocalDeployModal } from './DeployModal';
import { TaskModal } from './TaskModal';
import { LocalServerGroupTransformer } from './transformers';

// Reads the group from gate (fresh health), falling back to the application's copy; closes
// the pane when the group is gone (destroyed).
export function localServerGroupDetailsGetter(
  props: IServerGroupDetailsProps,
  autoClose: () => void,
): Observable<IServerGroup> {
  const { app, serverGroup } = props;
  const cached = () =>
    (app.serverGroups.data as IServerGroup[]).find(
      (g) => g.name === serverGroup.name && g.account === serverGroup.accountId && g.region === serverGroup.region,
    );
  const $q = ReactInjector.$q;
  // Once the application's data is loaded, a group missing from it is gone (destroyed): close
  // the pane without asking gate for it (which would answer 404).
  if (app.serverGroups.loaded && !cached()) {
    autoClose();
    return observableFrom([] as IServerGroup[]);
  }
  const load = ServerGroupReader.getServerGroup(app.name, serverGroup.accountId, serverGroup.region, serverGroup.name)
    .then(
      (details) => {
        const summary = cached();
        const merged: IServerGroup = { ...(summary || {}), ...details } as IServerGroup;
        if (summary && !merged.moniker) merged.moniker = summary.moniker;
        merged.account = merged.account || serverGroup.accountId;
        merged.cluster = merged.cluster || NameUtils.getClusterNameFromServerGroupName(merged.name);
        return new LocalServerGroupTransformer($q).normalizeServerGroup(merged);
      },
      () => cached() || null,
    )
    .then((group: IServerGroup) => {
      if (!group) autoClose();
      return group;
    });
  // Nothing is emitted for a vanished group: the pane is closing and cannot render null.
  return observableFrom(Promise.resolve(load)).pipe(filter((group) => !!group));
}

function Row(props: { label: string; children: React.ReactNode; test?: string }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd data-test={props.test}>{props.children}</dd>
    </>
  );
}

export function LocalInformationSection({ serverGroup }: IServerGroupDetailsSectionProps) {
  const command: string[] = ((serverGroup as any).launchConfig || {}).command || [];
  const buildInfo = (serverGroup as any).buildInfo || {};
  return (
    <CollapsibleSection heading="Server Group Information" defaultExpanded={true}>
      <dl className="dl-horizontal dl-narrow" data-test="local-sg-info">
        <Row label="Created">{timestamp(serverGroup.createdTime)}</Row>
        <Row label="Account">{serverGroup.account}</Row>
        <Row label="Region">{serverGroup.region}</Row>
        <Row label="Status" test="local-sg-status">
          {serverGroup.isDisabled ? 'Disabled' : 'Enabled'}
        </Row>
        <Row label="Command" test="local-sg-command">
          <code>{command.join(' ')}</code>
        </Row>
        {Object.keys(buildInfo).length > 0 && (
          <Row label="Build">
            <code>{JSON.stringify(buildInfo)}</code>
          </Row>
        )}
        <Row label="Load Balancers">{(serverGroup.loadBalancers || []).join(', ') || 'none'}</Row>
        <Row label="Firewalls">{(serverGroup.securityGroups || []).join(', ') || 'none'}</Row>
      </dl>
    </CollapsibleSection>
  );
}

export function LocalCapacitySection({ serverGroup }: IServerGroupDetailsSectionProps) {
  const c = serverGroup.capacity || ({} as any);
  return (
    <CollapsibleSection heading="Capacity" defaultExpanded={true}>
      <dl className="dl-horizontal dl-narrow" data-test="local-sg-capacity">
        <Row label="Min/Max">
          {c.min} / {c.max}
        </Row>
        <Row label="Desired" test="local-sg-desired">
          {c.desired}
        </Row>
        <Row label="Instances">
          <HealthCounts container={serverGroup.instanceCounts} />
        </Row>
      </dl>
    </CollapsibleSection>
  );
}

export function LocalInstancesSection({ serverGroup }: IServerGroupDetailsSectionProps) {
  const instances: any[] = serverGroup.instances || [];
  return (
    <CollapsibleSection heading="Instances" defaultExpanded={true}>
      <table className="table table-condensed" data-test="local-sg-instances">
        <thead>
          <tr>
            <th>Instance</th>
            <th>Health</th>
            <th>Port</th>
            <th>PID</th>
          </tr>
        </thead>
        <tbody>
          {instances.map((i) => (
            <tr key={i.id}>
              <td>{i.id}</td>
              <td>{i.healthState}</td>
              <td>{i.port}</td>
              <td>{i.pid}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </CollapsibleSection>
  );
}

// The older groups of the same cluster, newest first: what a rollback can restore.
function rollbackCandidates(app: Application, serverGroup: IServerGroup): IServerGroup[] {
  return (app.serverGroups.data as IServerGroup[])
    .filter(
      (g) =>
        g.cluster === serverGroup.cluster &&
        g.account === serverGroup.account &&
        g.region === serverGroup.region &&
        g.name !== serverGroup.name &&
        (g.createdTime || 0) < (serverGroup.createdTime || 0),
    )
    .sort((a, b) => (b.createdTime || 0) - (a.createdTime || 0));
}

interface IActionModalProps {
  application: Application;
  serverGroup: IServerGroup;
  closeModal?(result?: any): void;
  dismissModal?(result?: any): void;
}

function field(label: string, input: React.ReactNode) {
  return (
    <div className="form-group">
      <div className="col-md-4 sm-label-right">{label}</div>
      <div className="col-md-6">{input}</div>
    </div>
  );
}

export function ResizeModal(props: IActionModalProps) {
  const { application, serverGroup } = props;
  const c = serverGroup.capacity;
  const [capacity, setCapacity] = React.useState({
    min: Number(c.min),
    max: Number(c.max),
    desired: Number(c.desired),
  });
  const set = (key: 'min' | 'max' | 'desired') => (e: React.ChangeEvent<HTMLInputElement>) =>
    setCapacity({ ...capacity, [key]: e.target.value === '' ? NaN : Number(e.target.value) });
  const { min, max, desired } = capacity;
  const invalid = [min, max, desired].some((n) => !Number.isInteger(n) || n < 0)
    ? 'Min, max and desired must be whole numbers'
    : !(min <= desired && desired <= max)
    ? 'Desired must be between min and max'
    : max > 100
    ? 'The local provider runs at most 100 instances'
    : undefined;
  const input = (key: 'min' | 'max' | 'desired') => (
    <input
      type="number"
      className="form-control input-sm"
      data-test={`local-resize-${key}`}
      value={isNaN(capacity[key]) ? '' : capacity[key]}
      onChange={set(key)}
    />
  );
  return (
    <TaskModal
      {...props}
      title={`Resize ${serverGroup.name}`}
      submitLabel="Resize"
      invalid={invalid}
      submit={() =>
        ReactInjector.serverGroupWriter.resizeServerGroup(serverGroup, application, {
          capacity,
          action: 'scale_exact',
        } as any)
      }
    >
      {field('Min', input('min'))}
      {field('Max', input('max'))}
      {field('Desired', input('desired'))}
    </TaskModal>
  );
}

function ConfirmModal(props: IActionModalProps & { verb: string; body: string; submit: () => PromiseLike<any> }) {
  return (
    <TaskModal
      {...props}
      title={`${props.verb} ${props.serverGroup.name}`}
      submitLabel={props.verb}
      submit={props.submit}
    >
      <p>{props.body}</p>
    </TaskModal>
  );
}

export function RollbackModal(props: IActionModalProps) {
  const { application, serverGroup } = props;
  const candidates = rollbackCandidates(application, serverGroup);
  const [restore, setRestore] = React.useState(candidates.length ? candidates[0].name : '');
  return (
    <TaskModal
      {...props}
      title={`Rollback ${serverGroup.cluster}`}
      submitLabel="Rollback"
      invalid={restore ? undefined : 'There is no older server group in this cluster to restore'}
      submit={() =>
        ReactInjector.serverGroupWriter.rollbackServerGroup(serverGroup, application, {
          rollbackType: 'EXPLICIT',
          rollbackContext: {
            rollbackServerGroupName: serverGroup.name,
            restoreServerGroupName: restore,
            targetHealthyRollbackPercentage: 100,
          },
        } as any)
      }
    >
      <p>Enables (and resizes if needed) the server group to restore, then disables {serverGroup.name}.</p>
      {field(
        'Restore to',
        <select
          className="form-control input-sm"
          data-test="local-rollback-restore"
          value={restore}
          onChange={(e) => setRestore(e.target.value)}
        >
          {candidates.map((g) => (
            <option key={g.name} value={g.name}>
              {g.name} ({g.isDisabled ? 'disabled' : 'enabled'}, {g.instanceCounts.up} up)
            </option>
          ))}
        </select>,
      )}
    </TaskModal>
  );
}

function open(Component: React.ComponentType<any>, props: any) {
  ReactModal.show(Component, props).catch(() => {});
}

export function LocalServerGroupActions({ app, serverGroup }: IServerGroupActionsProps) {
  // Controlled, so that choosing an action closes the menu behind the modal it opens.
  const [menuOpen, setMenuOpen] = React.useState(false);
  const writer = () => ReactInjector.serverGroupWriter;
  const base = { application: app, serverGroup };
  const resize = () => open(ResizeModal, base);
  const enable = () =>
    open(ConfirmModal, {
      ...base,
      verb: 'Enable',
      body: `The load balancers send new requests to ${serverGroup.name} again.`,
      submit: () => writer().enableServerGroup(serverGroup, app),
    });
  const disable = () =>
    open(ConfirmModal, {
      ...base,
      verb: 'Disable',
      body: `The load balancers stop sending new requests to ${serverGroup.name}; its instances keep running.`,
      submit: () => writer().disableServerGroup(serverGroup, app.name),
    });
  const destroy = () =>
    open(ConfirmModal, {
      ...base,
      verb: 'Destroy',
      body: `Stops every instance of ${serverGroup.name} and removes it.`,
      submit: () => writer().destroyServerGroup(serverGroup, app),
    });
  const rollback = () => open(RollbackModal, base);
  const clone = () =>
    new LocalServerGroupCommandBuilder(ReactInjector.$q)
      .buildServerGroupCommandFromExisting(app, serverGroup, 'clone')
      .then((command) => LocalDeployModal.show({ title: `Clone ${serverGroup.name}`, application: app, command }))
      .catch(() => {}); // dismissed
  const item = (label: string, test: string, onClick: () => void) => (
    <li>
      <a
        className="clickable"
        data-test={test}
        onClick={() => {
          setMenuOpen(false);
          onClick();
        }}
      >
        {label}
      </a>
    </li>
  );
  return (
    <div style={{ display: 'inline-block' }}>
      <Dropdown
        className="dropdown"
        id="local-server-group-actions"
        open={menuOpen}
        onToggle={(open: boolean) => setMenuOpen(open)}
      >
        <Dropdown.Toggle className="btn btn-sm btn-primary dropdown-toggle" data-test="local-sg-actions">
          Server Group Actions
        </Dropdown.Toggle>
        <Dropdown.Menu className="dropdown-menu">
          {item('Resize', 'local-action-resize', resize)}
          {serverGroup.isDisabled
            ? item('Enable', 'local-action-enable', enable)
            : item('Disable', 'local-action-disable', disable)}
          {!serverGroup.isDisabled &&
            rollbackCandidates(app, serverGroup).length > 0 &&
            item('Rollback', 'local-action-rollback', rollback)}
          {item('Clone', 'local-action-clone', clone)}
          {item('Destroy', 'local-action-destroy', destroy)}
        </Dropdown.Menu>
      </Dropdown>
    </div>
  );
}
