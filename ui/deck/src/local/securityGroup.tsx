// Firewalls (security groups): a local one is a list of ingress rules (source CIDR, ports),
// enforced by the load balancers that attach it. The details pane (securityGroup.details)
// shows the rules; the create/edit modal (securityGroup.CreateSecurityGroupModal) runs
// upsertSecurityGroup with rules written one per line as "CIDR PORT[-PORT]".
import React from 'react';

import type { Application, IAccountDetails, IModalComponentProps } from '@spinnaker/core';
import { AccountService, CollapsibleSection, ReactInjector, ReactModal, SecurityGroupWriter } from '@spinnaker/core';

import { TaskModal } from './TaskModal';
import { PROVIDER, REGION } from './transformers';
import { CloseButton, PaneMessage } from './panes';

interface IRule {
  range: { ip: string; cidr: string };
  portRanges: Array<{ startPort: number; endPort: number }>;
}

export function rulesToText(rules: IRule[]): string {
  return (rules || [])
    .map((r) => {
      const ports = (r.portRanges || []).map((p) =>
        p.startPort === p.endPort ? `${p.startPort}` : `${p.startPort}-${p.endPort}`,
      );
      return `${r.range.ip}${r.range.cidr} ${ports.join(',')}`.trim();
    })
    .join('\n');
}

// "10.0.0.0/8 8100" or "0.0.0.0/0 8000-8999,9000" -> rules; returns an error string on a bad line.
export function textToRules(text: string): IRule[] | string {
  const rules: IRule[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const m = /^(\d+\.\d+\.\d+\.\d+)(\/\d+)(?:\s+([\d,\- ]+))?$/.exec(line);
    if (!m) return `Cannot read rule "${line}" (want CIDR PORT[-PORT])`;
    const portRanges = (m[3] || '0-65535')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((p) => {
        const [a, b] = p.split('-').map((n) => Number(n.trim()));
        return { startPort: a, endPort: b === undefined ? a : b };
      });
    if (portRanges.some((p) => !(p.startPort >= 0 && p.endPort <= 65535 && p.startPort <= p.endPort))) {
      return `Bad port range in "${line}"`;
    }
    rules.push({ range: { ip: m[1], cidr: m[2] }, portRanges });
  }
  return rules;
}

interface ICreateProps extends IModalComponentProps {
  application: Application;
  securityGroup?: any; // the group being edited
}

export function LocalSecurityGroupModal(props: ICreateProps) {
  const { application, securityGroup } = props;
  const existing = !!(securityGroup && securityGroup.name);
  const [accounts, setAccounts] = React.useState<IAccountDetails[]>([]);
  const [account, setAccount] = React.useState(existing ? securityGroup.accountName || securityGroup.account : '');
  const [name, setName] = React.useState(existing ? securityGroup.name : `${application.name}-`);
  const [rulesText, setRulesText] = React.useState(existing ? rulesToText(securityGroup.inboundRules) : '');
  React.useEffect(() => {
    AccountService.listAccounts(PROVIDER).then((list) => {
      setAccounts(list);
      if (list.length) setAccount((a: string) => a || list[0].name);
    });
  }, []);
  const rules = textToRules(rulesText);
  const invalid = !account
    ? 'Choose an account'
    : !/^[a-zA-Z0-9][a-zA-Z0-9-]*$/.test(name)
    ? 'The name may only hold letters, digits and dashes'
    : typeof rules === 'string'
    ? rules
    : undefined;
  return (
    <TaskModal
      application={application}
      title={existing ? `Edit ${name}` : 'Create Firewall'}
      submitLabel={existing ? 'Update' : 'Create'}
      invalid={invalid}
      closeModal={props.closeModal}
      dismissModal={props.dismissModal}
      submit={() =>
        SecurityGroupWriter.upsertSecurityGroup(
          { name, credentials: account, accountName: account, region: REGION, cloudProvider: PROVIDER } as any,
          application,
          existing ? 'Update' : 'Create',
          { inboundRules: rules, cloudProvider: PROVIDER, region: REGION },
        )
      }
    >
      <div className="form-group">
        <div className="col-md-3 sm-label-right">Account</div>
        <div className="col-md-7">
          <select
            className="form-control input-sm"
            data-test="local-fw-account"
            disabled={existing}
            value={account}
            onChange={(e) => setAccount(e.target.value)}
          >
            {accounts.map((a) => (
              <option key={a.name} value={a.name}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="form-group">
        <div className="col-md-3 sm-label-right">Name</div>
        <div className="col-md-7">
          <input
            className="form-control input-sm"
            data-test="local-fw-name"
            disabled={existing}
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </div>
      </div>
      <div className="form-group">
        <div className="col-md-3 sm-label-right">Ingress rules</div>
        <div className="col-md-7">
          <textarea
            className="form-control input-sm code"
            rows={4}
            data-test="local-fw-rules"
            placeholder="10.0.0.0/8 8100"
            value={rulesText}
            onChange={(e) => setRulesText(e.target.value)}
          />
          <div className="small text-muted">
            One rule per line: source CIDR, then ports (8100, 8000-8999, or a list). No ports: all.
          </div>
        </div>
      </div>
    </TaskModal>
  );
}
LocalSecurityGroupModal.show = (props: ICreateProps) =>
  ReactModal.show(LocalSecurityGroupModal, props, { bsSize: 'large' } as any);

interface IDetailsProps {
  app: Application;
  resolvedSecurityGroup: { name: string; accountId: string; provider: string; region: string; vpcId: string };
}

export function LocalSecurityGroupDetails(props: IDetailsProps) {
  const { app, resolvedSecurityGroup: want } = props;
  const [group, setGroup] = React.useState<any>(null);
  const [error, setError] = React.useState('');
  const load = () =>
    Promise.resolve(
      ReactInjector.securityGroupReader.getSecurityGroupDetails(
        app,
        want.accountId,
        want.provider || PROVIDER,
        want.region,
        want.vpcId,
        want.name,
      ),
    ).then(
      (details) => setGroup(details),
      () => setError(`Firewall ${want.name} not found.`),
    );
  React.useEffect(() => {
    load();
  }, [want.name, want.accountId, want.region]);
  if (!group) {
    return <PaneMessage>{error || 'Loading...'}</PaneMessage>;
  }
  const rules: IRule[] = group.inboundRules || [];
  const usages = (app.securityGroups?.data as any[])?.find((g) => g.name === group.name)?.usages;
  return (
    <div className="details-panel" data-test="local-fw-details">
      <div className="header">
        <CloseButton />
        <div className="header-text horizontal middle">
          <span className="fa fa-lock" />
          <h3 className="horizontal middle space-between flex-1">{group.name}</h3>
        </div>
        <div className="actions">
          <button
            className="btn btn-sm btn-default"
            data-test="local-fw-edit"
            onClick={() =>
              LocalSecurityGroupModal.show({
                application: app,
                securityGroup: { ...group, accountName: want.accountId },
              })
                .then(load)
                .catch(() => {})
            }
          >
            Edit
          </button>
        </div>
      </div>
      <div className="content">
        <CollapsibleSection heading="Firewall Details" defaultExpanded={true}>
          <dl className="dl-horizontal dl-narrow">
            <dt>Account</dt>
            <dd>{want.accountId}</dd>
            <dt>Region</dt>
            <dd>{want.region}</dd>
            {usages && (
              <>
                <dt>Load balancers</dt>
                <dd>{usages.loadBalancers.map((l: any) => l.name).join(', ') || 'none'}</dd>
              </>
            )}
          </dl>
        </CollapsibleSection>
        <CollapsibleSection heading={`Ingress rules (${rules.length})`} defaultExpanded={true}>
          <table className="table table-condensed" data-test="local-fw-rules-table">
            <thead>
              <tr>
                <th>Protocol</th>
                <th>Source</th>
                <th>Ports</th>
              </tr>
            </thead>
            <tbody>
              {rules.map((r, i) => (
                <tr key={i}>
                  <td>{(r as any).protocol || 'tcp'}</td>
                  <td>
                    {r.range.ip}
                    {r.range.cidr}
                  </td>
                  <td>
                    {(r.portRanges || [])
                      .map((p) => (p.startPort === p.endPort ? p.startPort : `${p.startPort}-${p.endPort}`))
                      .join(', ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </CollapsibleSection>
      </div>
    </div>
  );
}
