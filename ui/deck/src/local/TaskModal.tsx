// A modal that submits one orca task and follows it with Deck's TaskMonitor (the overlay Deck's
// own dialogs show), used by every local action. data-test="local-submit" submits,
// data-test="local-cancel" dismisses and data-test="local-task-status" reads
// SUBMITTING / RUNNING / SUCCEEDED / FAILED for tests.
import React from 'react';
import { Modal } from 'react-bootstrap';

import type { Application, IModalComponentProps, ITask } from '@spinnaker/core';
import { ReactModal, TaskMonitor, TaskMonitorWrapper } from '@spinnaker/core';

export interface ITaskModalProps extends IModalComponentProps {
  application: Application;
  title: string;
  submitLabel?: string;
  // A reason why the form cannot be submitted yet (shown, and the button disabled).
  invalid?: string;
  submit: () => PromiseLike<ITask>;
  children?: React.ReactNode;
}

function statusOf(monitor: TaskMonitor): string {
  if (monitor.error) return 'FAILED';
  if (!monitor.submitting) return '';
  if (!monitor.task) return 'SUBMITTING';
  if (monitor.task.isCompleted) return 'SUCCEEDED';
  if (monitor.task.isFailed) return 'FAILED';
  return 'RUNNING';
}

export function TaskModal(props: ITaskModalProps) {
  const { application, title, submitLabel, invalid, submit, children, dismissModal, closeModal } = props;
  const [, setTick] = React.useState(0);
  const [monitor] = React.useState(
    () =>
      new TaskMonitor({
        application,
        title,
        modalInstance: TaskMonitor.modalInstanceEmulation(
          () => closeModal && closeModal(),
          () => dismissModal && dismissModal(),
        ),
        // Refresh what the task changed so the views show it as soon as it is done.
        onTaskComplete: () => {
          application.serverGroups && application.serverGroups.refresh();
          application.loadBalancers && application.loadBalancers.refresh();
          application.securityGroups && application.securityGroups.refresh();
        },
      }),
  );
  React.useEffect(() => {
    const sub = monitor.statusUpdatedStream.subscribe(() => setTick((t) => t + 1));
    return () => sub.unsubscribe();
  }, [monitor]);

  const onSubmit = (e: React.FormEvent) => {
    e.preventDefault();
    if (!invalid) monitor.submit(submit);
  };

  return (
    <div data-test="local-modal">
      <TaskMonitorWrapper monitor={monitor} />
      <form className="form-horizontal" onSubmit={onSubmit}>
        <Modal.Header>
          <Modal.Title>{title}</Modal.Title>
        </Modal.Header>
        <Modal.Body>
          {children}
          {invalid && <div className="alert alert-warning sp-margin-m-top">{invalid}</div>}
          <span className="sr-only" data-test="local-task-status">
            {statusOf(monitor)}
          </span>
        </Modal.Body>
        <Modal.Footer>
          <button type="button" className="btn btn-default" data-test="local-cancel" onClick={() => dismissModal()}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" data-test="local-submit" disabled={!!invalid}>
            {submitLabel || 'Submit'}
          </button>
        </Modal.Footer>
      </form>
    </div>
  );
}

// Shows a TaskModal whose body is `children`.
export function showTaskModal(props: Omit<ITaskModalProps, 'closeModal' | 'dismissModal'>): PromiseLike<any> {
  return ReactModal.show(TaskModal, props as ITaskModalProps);
}
