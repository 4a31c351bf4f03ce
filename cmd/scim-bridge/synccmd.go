package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/scim-bridge/scim-bridge/admin"
	"github.com/scim-bridge/scim-bridge/bridge"
)

// exitInterrupted is the exit status after Ctrl-C stopped the watching of
// a job, as shells report a command ended by SIGINT.
const exitInterrupted = 130

// syncFlags are the flags of sync and its sub-commands.
type syncFlags struct {
	app        string
	allInScope bool
	noWait     bool
	url        string
	token      string
	interval   time.Duration
}

func (f *syncFlags) client() (*adminClient, error) { return newAdminClient(f.url, f.token) }

func newSyncCmd() *cobra.Command {
	var f syncFlags
	cmd := &cobra.Command{
		Use:   "sync --app APP",
		Short: "Run a quick sync of one application on a running bridge and watch it",
		Long: `Run a quick sync of one application on a running bridge: every user linked
to the application (with --all-in-scope, every user in its scope) is pushed
again at once, whether or not the bridge thinks the application holds it.

sync starts the job through the admin API, then shows its progress until it
ends: a progress bar on a terminal, a line every few seconds otherwise. It
exits with status 0 when the job is done with no failed user, and 1 when the
job failed, was cancelled or some users failed (they are listed by
GET /admin/v1/apps/APP/users?state=failed). Ctrl-C stops watching only: the
job goes on, and sync prints how to watch it again or cancel it.

The bridge is found at --url, else $` + envBridgeURL + `, else ` + defaultBridgeURL + `.
The admin token (role owner or admin) comes from --token, else $` + envAdminToken + `.`,
		Example: `  scim-bridge sync --app crm
  scim-bridge sync --app crm --all-in-scope --url https://bridge.example.com
  JOB=$(scim-bridge sync --app crm --no-wait)
  scim-bridge sync watch "$JOB"
  scim-bridge sync cancel "$JOB"`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			job, err := c.startSync(cmd.Context(), f.app, f.allInScope)
			if err != nil {
				return syncRefused(f.app, err)
			}
			if f.noWait {
				fmt.Fprintln(cmd.OutOrStdout(), job.ID)
				return nil
			}
			return watchJob(cmd.Context(), c, job, cmd.OutOrStdout(), cmd.ErrOrStderr(), f.interval)
		},
	}
	cmd.Flags().StringVar(&f.app, "app", "", "name of the application instance to sync")
	_ = cmd.MarkFlagRequired("app")
	cmd.Flags().BoolVar(&f.allInScope, "all-in-scope", false,
		"push every user in the application's scope, creating missing accounts")
	cmd.Flags().BoolVar(&f.noWait, "no-wait", false, "print the job id and return at once")
	cmd.PersistentFlags().StringVar(&f.url, "url", "",
		"`URL` of the bridge (env "+envBridgeURL+", default "+defaultBridgeURL+")")
	cmd.PersistentFlags().StringVar(&f.token, "token", "",
		"admin bearer `token` (env "+envAdminToken+")")
	cmd.PersistentFlags().DurationVar(&f.interval, "interval", time.Second,
		"how often to read the job")
	_ = cmd.PersistentFlags().MarkHidden("interval")
	cmd.AddCommand(newSyncWatchCmd(&f), newSyncCancelCmd(&f))
	return cmd
}

func newSyncWatchCmd(f *syncFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "watch JOB",
		Short: "Watch a quick sync job until it ends",
		Long: `Watch a quick sync job until it ends, with the exit status of sync: 0 when
it is done with no failed user, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			job, err := c.job(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return watchJob(cmd.Context(), c, job, cmd.OutOrStdout(), cmd.ErrOrStderr(), f.interval)
		},
	}
}

func newSyncCancelCmd(f *syncFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "cancel JOB",
		Short: "Cancel a quick sync job",
		Long: `Ask a quick sync job to stop (DELETE /admin/v1/jobs/JOB). The job stops at its
next checkpoint; users already queued are still pushed. Cancelling a job that
has ended changes nothing.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			job, err := c.cancelJob(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if job.State != bridge.JobRunning {
				fmt.Fprintf(out, "job %s has already ended: %s\n", job.ID, job.State)
				return nil
			}
			fmt.Fprintf(out, "cancel of job %s requested; it stops at its next checkpoint\n", job.ID)
			return nil
		},
	}
}

// syncRefused explains why a quick sync could not start.
func syncRefused(app string, err error) error {
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusConflict && ae.body.JobID != "" {
		return fmt.Errorf("a quick sync of %s is already running: job %s\n"+
			"  watch it:  scim-bridge sync watch %[2]s\n"+
			"  cancel it: scim-bridge sync cancel %[2]s", app, ae.body.JobID)
	}
	return fmt.Errorf("start quick sync of %s: %w", app, err)
}

// watchJob polls a job every interval, showing its progress on out, until
// it ends or ctx is cancelled (Ctrl-C). It returns nil only for a job done
// with no failed user.
func watchJob(ctx context.Context, c *adminClient, job bridge.Job, out, errOut io.Writer,
	interval time.Duration) error {
	p := newProgress(out, time.Now)
	p.show(job)
	tick := time.NewTicker(max(interval, 10*time.Millisecond))
	defer tick.Stop()
	for job.State == bridge.JobRunning {
		select {
		case <-ctx.Done():
			p.stop()
			return interrupted(errOut, job.ID)
		case <-tick.C:
		}
		j, err := c.job(ctx, job.ID)
		if ctx.Err() != nil {
			p.stop()
			return interrupted(errOut, job.ID)
		}
		if err != nil {
			p.stop()
			return fmt.Errorf("read job %s: %w\n  the job goes on; watch it again with "+
				"`scim-bridge sync watch %[1]s`", job.ID, err)
		}
		job = j
		p.show(job)
	}
	p.stop()
	return jobOutcome(out, job)
}

// interrupted tells how to pick up a job the user stopped watching.
func interrupted(errOut io.Writer, id string) error {
	fmt.Fprintf(errOut, "\nstopped watching job %s; it goes on in the bridge.\n", id)
	fmt.Fprintf(errOut, "  watch it:  scim-bridge sync watch %s\n", id)
	fmt.Fprintf(errOut, "  cancel it: scim-bridge sync cancel %s  (DELETE %s/jobs/%s)\n",
		id, admin.Prefix, id)
	return exitCode(exitInterrupted)
}

// jobOutcome prints how a finished job ended and turns anything but a
// clean success into an error.
func jobOutcome(out io.Writer, j bridge.Job) error {
	counts := fmt.Sprintf("%d pushed, %d failed, %d skipped", j.Done, j.Failed, j.Skipped)
	switch {
	case j.State == bridge.JobDone && j.Failed == 0:
		fmt.Fprintf(out, "quick sync of %s done: %s\n", j.App, counts)
		return nil
	case j.State == bridge.JobDone:
		return fmt.Errorf("quick sync of %s done, but %d users failed (%s); list them with "+
			"GET %s/apps/%s/users?state=failed", j.App, j.Failed, counts, admin.Prefix, j.App)
	case j.State == bridge.JobCancelled && j.Error != "":
		return fmt.Errorf("quick sync of %s cancelled: %s (%s)", j.App, j.Error, counts)
	case j.State == bridge.JobCancelled:
		return fmt.Errorf("quick sync of %s cancelled (%s)", j.App, counts)
	}
	return fmt.Errorf("quick sync of %s %s: %s (%s)", j.App, j.State, j.Error, counts)
}
