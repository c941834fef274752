// The local deploy form (serverGroup.CloneServerGroupModal): creates or clones a server group
// (an orca task), or, opened from a deploy stage ("Add server group" / edit), returns the
// command to core, which turns it into the stage's cluster with our transformer.
// Fields: account, stack, detail, command (argv, one argument per line), env (KEY=value per
// line), health check, capacity, load balancers, firewalls, strategy (none / highlander /
// red/black with maxRemainingAsgs and scaleDown) and rollback on failure.
import React from 'react';
import { Modal } from 'react-bootstrap';

import type { Application, IAccountDetails, IModalComponentProps } from '@spinnaker/core';
import { AccountService, NameUtils, ReactInjector, ReactModal } from '@spinnaker/core';

import type { ILocalDeployCommand, ILocalHealthCheck } from './commandBuilder';
import { DEFAULT_HEALTH_CHECK } from './commandBuilder';
import { TaskModal } from './TaskModal';
import { PROVIDER, REGION } from './transformers';

export interface ILocalDeployModalProps extends IModalComponentProps {
  title: string;
  application: Application;
  command: ILocalDeployCommand;
}

// "KEY=value" lines <-> an env object; a line without "=" is a key with an empty value.
export function envToText(env: { [k: string]: string } | null): string {
  return env
    ? Object.keys(env)
        .map((k) => `${k}=${env[k]}`)
        .join('\n')
    : '';
}
export function textToEnv(text: string): { [k: string]: string } {
  const env: { [k: string]: string } = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const at = line.indexOf('=');
    const key = (at < 0 ? line : line.slice(0, at)).trim();
    if (key) env[key] = at < 0 ? '' : line.slice(at + 1);
  }
  return env;
}

// Why the command cannot be deployed, or undefined.
export function validate(c: ILocalDeployCommand, argv: string[]): string | undefined {
  if (!c.credentials) return 'Choose an account';
  if (!/^[a-zA-Z0-9]*$/.test(c.stack || '')) return 'The stack may only hold letters and digits';
  if (!/^[a-zA-Z0-9-]*$/.test(c.freeFormDetails || '')) return 'The detail may only hold letters, digits and dashes';
  if (!argv.length && c.viewState.mode !== 'clone') return 'The command needs at least one argument (the program)';
  const { min, max, desired } = c.capacity;
  if ([min, max, desired].some((n) => !Number.isInteger(n) || n < 0)) return 'Capacity values must be whole numbers';
  if (!(min <= desired && desired <= max)) return 'Desired capacity must be between min and max';
  if (max > 100) return 'The local provider runs at most 100 instances';
  if (c.strategy === 'redblack' && !(c.maxRemainingAsgs >= 1)) return 'Max remaining server groups must be at least 1';
  return undefined;
}

interface IOption {
  name: string;
}

export class LocalDeployModal extends React.Component<
  ILocalDeployModalProps,
  {
    command: ILocalDeployCommand;
    argvText: string;
    envText: string;
    accounts: IAccountDetails[];
    loadBalancers: IOption[];
    securityGroups: IOption[];
  }
> {
  public static show(props: { title: string; application: Application; command: ILocalDeployCommand }): Promise<any> {
    return ReactModal.show(LocalDeployModal, props as ILocalDeployModalProps, { bsSize: 'large' } as any);
  }

  constructor(props: ILocalDeployModalProps) {
    super(props);
    const command = props.command;
    this.state = {
      command,
      argvText: (command.command || []).join('\n'),
      envText: envToText(command.env),
      accounts: [],
      loadBalancers: [],
      securityGroups: [],
    };
  }

  public componentDidMount() {
    AccountService.listAccounts(PROVIDER).then((accounts) => this.setState({ accounts }));
    // The application's load balancers (core's data source) plus the ones the command names.
    const app = this.props.application;
    const fromApp = () =>
      ((app.loadBalancers && (app.loadBalancers.data as any[])) || [])
        .filter((lb) => (lb.cloudProvider || lb.type) === PROVIDER)
        .map((lb) => lb.name);
    const setLbs = () =>
      this.setState({
        loadBalancers: Array.from(new Set([...fromApp(), ...(this.state.command.loadBalancers || [])]))
          .sort()
          .map((name) => ({ name })),
      });
    setLbs();
    if (app.loadBalancers && app.loadBalancers.ready) {
      Promise.resolve(app.loadBalancers.ready()).then(setLbs, () => {});
    }
    // Firewalls are not per application: every local one can be attached.
    Promise.resolve(ReactInjector.securityGroupReader.getAllSecurityGroups())
      .then((byAccount: any) => {
        const names = new Set<string>(this.state.command.securityGroups || []);
        for (const account of Object.keys(byAccount || {})) {
          const regions = (byAccount[account] || {})[PROVIDER] || {};
          for (const region of Object.keys(regions)) {
            for (const g of regions[region] || []) names.add(g.name);
          }
        }
        this.setState({
          securityGroups: Array.from(names)
            .sort()
            .map((name) => ({ name })),
        });
      })
      .catch(() => {});
  }

  private update(change: Partial<ILocalDeployCommand>) {
    this.setState({ command: { ...this.state.command, ...change } });
  }

  private num(key: 'min' | 'max' | 'desired') {
    return (e: React.ChangeEvent<HTMLInputElement>) =>
      this.update({
        capacity: { ...this.state.command.capacity, [key]: e.target.value === '' ? NaN : Number(e.target.value) },
      });
  }

  private health(key: keyof ILocalHealthCheck, numeric: boolean) {
    return (e: React.ChangeEvent<HTMLInputElement>) => {
      const raw = e.target.value;
      const value = numeric ? (raw === '' ? undefined : Number(raw)) : raw;
      this.update({
        healthCheck: { ...DEFAULT_HEALTH_CHECK, ...(this.state.command.healthCheck || {}), [key]: value },
      });
    };
  }

  // The command as the form shows it, with argv and env parsed from their text areas.
  private finalCommand(): ILocalDeployCommand {
    const { command, argvText, envText } = this.state;
    const argv = argvText.split('\n').filter((a) => a.trim() !== '');
    const out: ILocalDeployCommand = { ...command, command: argv, selectedProvider: PROVIDER, region: REGION };
    // A clone with nothing typed inherits env (and health check, below) from its source.
    out.env = envText.trim() || command.viewState.mode !== 'clone' ? textToEnv(envText) : null;
    return out;
  }

  private selected(e: React.ChangeEvent<HTMLSelectElement>): string[] {
    return Array.from(e.target.selectedOptions).map((o) => o.value);
  }

  public render() {
    const { application, title, dismissModal, closeModal } = this.props;
    const { command, argvText, envText, accounts, loadBalancers, securityGroups } = this.state;
    const mode = command.viewState.mode;
    const forPipeline = mode === 'createPipeline' || mode === 'editPipeline';
    const final = this.finalCommand();
    const invalid = validate(final, final.command);
    const hc = command.healthCheck || ({} as ILocalHealthCheck);
    const inheritHint = mode === 'clone' ? '(from the source server group)' : '';
    const cluster = NameUtils.getClusterName(application.name, command.stack, command.freeFormDetails);

    const row = (label: string, input: React.ReactNode, help?: string) => (
      <div className="form-group">
        <div className="col-md-3 sm-label-right">{label}</div>
        <div className="col-md-8">
          {input}
          {help && <div className="small text-muted">{help}</div>}
        </div>
      </div>
    );
    const numberInput = (test: string, value: number, onChange: (e: any) => void, placeholder = '') => (
      <input
        type="number"
        min={0}
        className="form-control input-sm"
        data-test={test}
        placeholder={placeholder}
        value={value === undefined || value === null || isNaN(value) ? '' : value}
        onChange={onChange}
      />
    );

    const body = (
      <div data-test="local-deploy-form">
        <h4>Location</h4>
        {row(
          'Account',
          <select
            className="form-control input-sm"
            data-test="local-account"
            value={command.credentials}
            onChange={(e) => this.update({ credentials: e.target.value })}
          >
            {accounts.length === 0 && <option value={command.credentials}>{command.credentials}</option>}
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
            data-test="local-stack"
            value={command.stack}
            onChange={(e) => this.update({ stack: e.target.value })}
          />,
        )}
        {row(
          'Detail',
          <input
            className="form-control input-sm"
            data-test="local-detail"
            value={command.freeFormDetails}
            onChange={(e) => this.update({ freeFormDetails: e.target.value })}
          />,
          `Cluster: ${cluster} (server groups ${cluster}-vNNN)`,
        )}

        <h4>Process</h4>
        {row(
          'Command',
          <textarea
            className="form-control input-sm code"
            rows={4}
            data-test="local-command"
            placeholder={
              mode === 'clone' ? '(the source server group\u2019s command)' : '/path/to/program\n--port\n{{port}}'
            }
            value={argvText}
            onChange={(e) => this.setState({ argvText: e.target.value })}
          />,
          'One argument per line. {{port}} becomes a free port per instance (also $PORT); pipeline expressions such as ${parameters.version} work.',
        )}
        {row(
          'Environment',
          <textarea
            className="form-control input-sm code"
            rows={3}
            data-test="local-env"
            placeholder={mode === 'clone' ? '(inherited from the source server group)' : 'KEY=value'}
            value={envText}
            onChange={(e) => this.setState({ envText: e.target.value })}
          />,
          'One KEY=value per line.',
        )}

        <h4>Health check</h4>
        {row(
          'Path',
          <input
            className="form-control input-sm"
            data-test="local-health-path"
            placeholder={inheritHint || 'empty: Up as soon as the process runs'}
            value={hc.path || ''}
            onChange={this.health('path', false)}
          />,
          'An HTTP GET on each instance\u2019s port; empty: Up as soon as the process runs.',
        )}
        {row(
          'Interval / timeout (ms)',
          <div className="form-inline">
            {numberInput('local-health-interval', hc.intervalMs, this.health('intervalMs', true), 'interval')}{' '}
            {numberInput('local-health-timeout', hc.timeoutMs, this.health('timeoutMs', true), 'timeout')}
          </div>,
        )}
        {row(
          'Healthy / unhealthy threshold',
          <div className="form-inline">
            {numberInput('local-health-healthy', hc.healthyThreshold, this.health('healthyThreshold', true), 'healthy')}{' '}
            {numberInput(
              'local-health-unhealthy',
              hc.unhealthyThreshold,
              this.health('unhealthyThreshold', true),
              'unhealthy',
            )}
          </div>,
        )}

        <h4>Capacity</h4>
        {row(
          'Min / Max / Desired',
          <div className="form-inline">
            {numberInput('local-capacity-min', command.capacity.min, this.num('min'))}{' '}
            {numberInput('local-capacity-max', command.capacity.max, this.num('max'))}{' '}
            {numberInput('local-capacity-desired', command.capacity.desired, this.num('desired'))}
          </div>,
        )}

        <h4>Traffic</h4>
        {row(
          'Load balancers',
          <select
            multiple={true}
            className="form-control input-sm"
            data-test="local-load-balancers"
            value={command.loadBalancers}
            onChange={(e) => this.update({ loadBalancers: this.selected(e) })}
          >
            {loadBalancers.map((lb) => (
              <option key={lb.name} value={lb.name}>
                {lb.name}
              </option>
            ))}
          </select>,
          loadBalancers.length ? 'Ctrl/Cmd-click to choose several.' : 'This application has no load balancer yet.',
        )}
        {row(
          'Firewalls',
          <select
            multiple={true}
            className="form-control input-sm"
            data-test="local-security-groups"
            value={command.securityGroups}
            onChange={(e) => this.update({ securityGroups: this.selected(e) })}
          >
            {securityGroups.map((g) => (
              <option key={g.name} value={g.name}>
                {g.name}
              </option>
            ))}
          </select>,
        )}

        <h4>Strategy</h4>
        {row(
          'Strategy',
          <select
            className="form-control input-sm"
            data-test="local-strategy"
            value={command.strategy}
            onChange={(e) => this.update({ strategy: e.target.value as ILocalDeployCommand['strategy'] })}
          >
            <option value="">None</option>
            <option value="highlander">Highlander (destroy the previous groups)</option>
            <option value="redblack">Red/Black (disable the previous groups)</option>
          </select>,
        )}
        {command.strategy === 'redblack' &&
          row(
            'Max remaining groups',
            numberInput('local-max-remaining', command.maxRemainingAsgs, (e) =>
              this.update({ maxRemainingAsgs: e.target.value === '' ? NaN : Number(e.target.value) }),
            ),
            'The oldest groups beyond this number are destroyed.',
          )}
        {command.strategy === 'redblack' &&
          row(
            '',
            <label className="checkbox-inline">
              <input
                type="checkbox"
                data-test="local-scale-down"
                checked={!!command.scaleDown}
                onChange={(e) => this.update({ scaleDown: e.target.checked })}
              />{' '}
              Scale down the replaced server groups
            </label>,
          )}
        {forPipeline &&
          row(
            '',
            <label className="checkbox-inline">
              <input
                type="checkbox"
                data-test="local-rollback-on-failure"
                checked={!!command.rollbackOnFailure}
                onChange={(e) => this.update({ rollbackOnFailure: e.target.checked })}
              />{' '}
              Roll back on failure (disable the new group, keep the previous one serving)
            </label>,
          )}
      </div>
    );

    if (forPipeline) {
      // The stage editor owns the result: hand the command back, no task.
      const done = (e: React.FormEvent) => {
        e.preventDefault();
        if (!invalid) closeModal(final);
      };
      return (
        <form className="form-horizontal" onSubmit={done} data-test="local-modal">
          <Modal.Header>
            <Modal.Title>{title}</Modal.Title>
          </Modal.Header>
          <Modal.Body>
            {body}
            {invalid && <div className="alert alert-warning">{invalid}</div>}
          </Modal.Body>
          <Modal.Footer>
            <button type="button" className="btn btn-default" data-test="local-cancel" onClick={() => dismissModal()}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" data-test="local-submit" disabled={!!invalid}>
              {mode === 'createPipeline' ? 'Add' : 'Done'}
            </button>
          </Modal.Footer>
        </form>
      );
    }
    return (
      <TaskModal
        application={application}
        title={title}
        submitLabel={mode === 'clone' ? 'Clone' : 'Create'}
        invalid={invalid}
        closeModal={closeModal}
        dismissModal={dismissModal}
        submit={() => ReactInjector.serverGroupWriter.cloneServerGroup(final as any, application)}
      >
        {body}
      </TaskModal>
    );
  }
}
