package bridge

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the engine's Prometheus series. Labels are app names and
// fixed words, never user ids, so the number of series stays bounded.
type metrics struct {
	changes     prometheus.Counter
	calls       *prometheus.CounterVec
	callSeconds *prometheus.HistogramVec
	reconcile   *prometheus.HistogramVec
	deadLetters *prometheus.CounterVec
	authFaults  *prometheus.CounterVec
	queue       *prometheus.GaugeVec
	jobs        *prometheus.CounterVec
	// bulkRequests and bulkOps count bulk requests sent and the
	// operations in them; calls counts each operation as well.
	bulkRequests *prometheus.CounterVec
	bulkOps      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scim_bridge_sync_changes_total",
			Help: "Directory changes read from the change feed.",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_sync_operations_total",
			Help: "Connector calls by app, operation and outcome " +
				"(ok, not_found, conflict, retryable, throttled, error).",
		}, []string{"app", "op", "outcome"}),
		callSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scim_bridge_sync_operation_duration_seconds",
			Help:    "Time of one connector call, by app and operation.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"app", "op"}),
		reconcile: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "scim_bridge_sync_reconcile_duration_seconds",
			Help:    "Time to reconcile one user of one app, calls included.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"app"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_sync_dead_letters_total",
			Help: "Users that became dead letters, by app.",
		}, []string{"app"}),
		authFaults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_sync_auth_faults_total",
			Help: "Times an app began refusing the credentials, pausing its work, by app.",
		}, []string{"app"}),
		queue: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "scim_bridge_sync_queue_depth",
			Help: "Keys in an app's queue, by state (ready or leased), sampled periodically.",
		}, []string{"app", "state"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_sync_jobs_total",
			Help: "Quick sync jobs finished, by final state.",
		}, []string{"state"}),
		bulkRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_sync_bulk_requests_total",
			Help: "Bulk requests sent, by app.",
		}, []string{"app"}),
		bulkOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scim_bridge_sync_bulk_operations_total",
			Help: "Operations sent inside bulk requests, by app.",
		}, []string{"app"}),
	}
	if reg != nil {
		reg.MustRegister(m.changes, m.calls, m.callSeconds, m.reconcile, m.deadLetters,
			m.authFaults, m.queue, m.jobs, m.bulkRequests, m.bulkOps)
	}
	return m
}

// watchQueues samples the depth of every app's queue until ctx ends.
func (e *Engine) watchQueues(ctx context.Context) {
	const every = 5 * time.Second
	for {
		for _, name := range e.order {
			st, err := e.store.QueueStats(ctx, e.apps[name].queue)
			if err != nil {
				continue
			}
			e.metrics.queue.WithLabelValues(name, "ready").Set(float64(st.Ready))
			e.metrics.queue.WithLabelValues(name, "leased").Set(float64(st.Leased))
		}
		if !sleep(ctx, every) {
			return
		}
	}
}
