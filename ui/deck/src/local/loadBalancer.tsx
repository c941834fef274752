// Load balancers (a local load balancer is an HTTP reverse proxy on its listener port): the
// details pane (loadBalancer.details) and the create/edit modal
// (loadBalancer.CreateLoadBalancerModal), which runs upsertLoadBalancer.
import React from 'react';

import type { Application, IAccountDetails, ILoadBalancer, IModalComponentProps } from '@spinnaker/core';
import {
  AccountService,
  CollapsibleSection,
  HealthCounts,
  LoadBalancerWriter,
  NameUtils,
  ReactInjector,
  ReactModal,
} from '@spinnaker/core';

import { TaskModal } from './TaskModal';
import { PROVIDER, REGION } from './transformers';
import { CloseButton, PaneMessage } from './panes';

// Every local firewall's name (firewalls are not per application).
export function localSecurityGroupNames(): PromiseLike<string[]> {
  return Promise.resolve(ReactInjector.securityGroupReader.getAllSecurityGroups()).then((byAccount: any) => {
    const names = new Set<string>();
    for (const account of Object.keys(byAccount || {})) {
      const regions = (byAccount[account] || {})[PROVIDER] || {};
      for (const region of Object.keys(regions)) {
        for (const g of regions[region] || []) names.add(g.name);
      }
    }
    return Array.from(names).sort();
  });
}

interface ILocalLoadBalancerModalProps extends IModalComponentProps {
  app: Application;
  loadBalancer?: ILoadBalancer;
}

export function LocalLoadBalancerModal(props: ILocalLoadBalancerModalProps) {
  const { app, loadBalancer } = props;
  const existing = !!(loadBalancer && loadBalancer.name);
  const parts = existing ? NameUtils.parseLoadBalancerName(loadBalancer.name) : null;
  const [accounts, setAccounts] = React.useState<IAccountDetails[]>([]);
  const [firewalls, setFirewalls] = React.useState<string[]>([]);
  const [form, setForm] = React.useState({
    credentials: existing ? loadBalancer.account : '',
    stack: (parts && parts.stack) || '',
    detail: (parts && parts.freeFormDetails) || '',
    port: existing ? Number((((loadBalancer as any).listeners || [])[0] || {}).port || 0) : 8100,
    securityGroups: existing ? [...((loadBalancer as any).securityGroups || [])] : ([] as string[]),
  });
  React.useEffect(() => {
    AccountService.listAccounts(PROVIDER).then((list) => {
      setAccounts(list);
      if (list.length) setForm((f) => (f.credentials ? f : { ...f, credentials: list[0].name }));
    });
    localSecurityGroupNames().then(setFirewalls, () => {});
  }, []);
  const name = NameUtils.getClusterName(app.name, form.stack, form.detail);
  const invalid = !form.credentials
    ? 'Choose an account'
    : !/^[a-zA-Z0-9]*$/.test(form.stack)
    ? 'The stack may only hold letters and digits'
    : !/^[a-zA-Z0-9-]*$/.test(form.detail)
    ? 'The detail may only hold letters, digits and dashes'
    : !(Number.isInteger(form.port) && form.port >= 0 && form.port <= 65535)
    ? 'The listener port must be between 0 (any free port) and 65535'
    : undefined;
  const description = () => ({
    name,
    stack: form.stack,
    detail: form.detail,
    cloudProvider: PROVIDER,
    credentials: form.credentials,
    region: REGION,
    listeners: [{ port: form.port }],
    securityGroups: form.securityGroups,
  });
  const row = (label: string, input: React.ReactNode, help?: string) => (
    <div className="form-group">
      <div className="col-md-3 sm-label-right">{label}</div>
      <div className="col-md-7">
        {input}
        {help && <div className="small text-muted">{help}</div>}
      </div>
    </div>
  );
  const body = (
    <>
      {row(
        'Account',
        <select
          className="form-control input-sm"
          data-test="local-lb-account"
          disabled={existing}
          value={form.credentials}
          onChange={(e) => setForm({ ...form, credentials: e.target.value })}
        >
          {accounts.map((a) => (
            <option key={a.name} value={a.name}>
              {a.name}
            </option>
          ))}
        </select>,
      )}
      {row(
        'Stack',
        <input
          className="form-control input-sm"
          data-test="local-lb-stack"
          disabled={existing}
          value={form.stack}
          onChange={(e) => setForm({ ...form, stack: e.target.value })}
        />,
      )}
      {row(
        'Detail',
        <input
          className="form-control input-sm"
          data-test="local-lb-detail"
          disabled={existing}
          value={form.detail}
          onChange={(e) => setForm({ ...form, detail: e.target.value })}
        />,
        `Name: ${name}`,
      )}
      {row(
        'Listener port',
        <input
          type="number"
          className="form-control input-sm"
          data-test="local-lb-port"
          disabled={existing}
          value={isNaN(form.port) ? '' : form.port}
          onChange={(e) => setForm({ ...form, port: e.target.value === '' ? NaN : Number(e.target.value) })}
        />,
        'HTTP, on 127.0.0.1 and every interface; 0 picks a free port.',
      )}
      {row(
        'Firewalls',
        <select
          multiple={true}
          className="form-control input-sm"
          data-test="local-lb-security-groups"
          value={form.securityGroups}
          onChange={(e) =>
            setForm({ ...form, securityGroups: Array.from(e.target.selectedOptions).map((o) => o.value) })
          }
        >
          {firewalls.map((f) => (
            <option key={f} value={f}>
              {f}
            </option>
          ))}
        </select>,
        'Only the source ranges of their rules covering the listener port may connect; none: everyone.',
      )}
    </>
  );
  return (
    <TaskModal
      application={app}
      title={existing ? `Edit ${loadBalancer.name}` : 'Create Load Balancer'}
      submitLabel={existing ? 'Update' : 'Create'}
      invalid={invalid}
      closeModal={props.closeModal}
      dismissModal={props.dismissModal}
      submit={() => LoadBalancerWriter.upsertLoadBalancer(description() as any, app, existing ? 'Update' : 'Create')}
    >
      {body}
    </TaskModal>
  );
}
// Core calls CreateLoadBalancerModal.show(props).
LocalLoadBalancerModal.show = (props: ILocalLoadBalancerModalProps) =>
  ReactModal.show(LocalLoadBalancerModal, props, { bsSize: 'large' } as any);

interface ILocalLoadBalancerDetailsProps {
  app: Application;
  loadBalancer: { name: string; accountId: string; region: string };
}

function DeleteLoadBalancerModal(props: IModalComponentProps & { app: Application; loadBalancer: ILoadBalancer }) {
  const { app, loadBalancer } = props;
  return (
    <TaskModal
      application={app}
      title={`Delete ${loadBalancer.name}`}
      submitLabel="Delete"
      closeModal={props.closeModal}
      dismissModal={props.dismissModal}
      submit={() =>
        LoadBalancerWriter.deleteLoadBalancer(
          {
            cloudProvider: PROVIDER,
            loadBalancerName: loadBalancer.name,
            credentials: loadBalancer.account,
            regions: [loadBalancer.region],
          },
          app,
        )
      }
    >
      <p>Stops the proxy on its port. It must not be in use by a server group.</p>
    </TaskModal>
  );
}

export function LocalLoadBalancerDetails(props: ILocalLoadBalancerDetailsProps) {
  const { app } = props;
  const want = props.loadBalancer;
  const find = () =>
    ((app.loadBalancers.data as ILoadBalancer[]) || []).find(
      (lb) => lb.name === want.name && lb.account === want.accountId && lb.region === want.region,
    );
  const [lb, setLb] = React.useState<ILoadBalancer>(find());
  React.useEffect(() => {
    setLb(find());
    Promise.resolve(app.loadBalancers.ready()).then(
      () => setLb(find()),
      () => {},
    );
    return app.loadBalancers.onRefresh(null, () => setLb(find()));
  }, [want.name, want.accountId, want.region]);
  if (!lb) {
    return <PaneMessage>Load balancer {want.name} not found.</PaneMessage>;
  }
  const listeners: any[] = (lb as any).listeners || [];
  const firewalls: string[] = (lb as any).securityGroups || [];
  return (
    <div className="details-panel" data-test="local-lb-details">
      <div className="header">
        <CloseButton />
        <div className="header-text horizontal middle">
          <span className="glyphicon icon-sitemap" />
          <h3 className="horizontal middle space-between flex-1">{lb.name}</h3>
        </div>
        <div className="actions">
          <button
            className="btn btn-sm btn-default"
            data-test="local-lb-edit"
            onClick={() => LocalLoadBalancerModal.show({ app, loadBalancer: lb }).catch(() => {})}
          >
            Edit
          </button>{' '}
          <button
            className="btn btn-sm btn-default"
            data-test="local-lb-delete"
            onClick={() => ReactModal.show(DeleteLoadBalancerModal, { app, loadBalancer: lb } as any).catch(() => {})}
          >
            Delete
          </button>
        </div>
      </div>
      <div className="content">
        <CollapsibleSection heading="Load Balancer Details" defaultExpanded={true}>
          <dl className="dl-horizontal dl-narrow">
            <dt>Account</dt>
            <dd>{lb.account}</dd>
            <dt>Region</dt>
            <dd>{lb.region}</dd>
            <dt>Serving</dt>
            <dd>
              <HealthCounts container={lb.instanceCounts} />
            </dd>
          </dl>
        </CollapsibleSection>
        <CollapsibleSection heading="Listeners" defaultExpanded={true}>
          <ul data-test="local-lb-listeners">
            {listeners.map((l) => (
              <li key={l.port}>
                {l.protocol || 'HTTP'} :{l.port}{' '}
                <a href={`http://${window.location.hostname}:${l.port}/`} target="_blank" rel="noopener noreferrer">
                  open
                </a>
              </li>
            ))}
          </ul>
        </CollapsibleSection>
        <CollapsibleSection heading="Firewalls" defaultExpanded={true}>
          <ul data-test="local-lb-firewalls">
            {firewalls.length === 0 && <li>none (open to every source)</li>}
            {firewalls.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </CollapsibleSection>
        <CollapsibleSection heading="Server Groups" defaultExpanded={true}>
          <ul data-test="local-lb-server-groups">
            {((lb.serverGroups as any[]) || []).map((g) => (
              <li key={g.name}>
                {g.name} {g.isDisabled ? '(disabled)' : ''} - {(g.instances || []).length} instances
              </li>
            ))}
          </ul>
        </CollapsibleSection>
      </div>
    </div>
  );
}
