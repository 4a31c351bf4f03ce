package admin

import (
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/scim-bridge/scim-bridge/bridge"
)

func (a *api) listApps(w http.ResponseWriter, r *http.Request) error {
	apps, err := a.engine.Apps(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": apps})
	return nil
}

func (a *api) getApp(w http.ResponseWriter, r *http.Request) error {
	info, err := a.engine.App(r.Context(), mux.Vars(r)["app"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, info)
	return nil
}

// provisioningBody is the body of PUT .../provisioning.
type provisioningBody struct {
	Enabled *bool `json:"enabled"`
}

func (a *api) setProvisioning(w http.ResponseWriter, r *http.Request) error {
	var body provisioningBody
	if err := decodeBody(w, r, &body, false); err != nil {
		return err
	}
	if body.Enabled == nil {
		return errorf(http.StatusBadRequest, codeInvalid, `"enabled" (true or false) is required`)
	}
	info, job, err := a.engine.SetProvisioning(r.Context(), mux.Vars(r)["app"], *body.Enabled,
		caller(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"app": info, "job": job})
	return nil
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	st := bridge.State(q.Get("state"))
	switch st {
	case "", bridge.StateSynced, bridge.StatePending, bridge.StateFailed,
		bridge.StateNeedsInput, bridge.StateDeprovisioned:
	default:
		return errorf(http.StatusBadRequest, codeInvalid,
			"state must be synced, pending, failed, needs-input or deprovisioned")
	}
	users, next, err := a.engine.Users(r.Context(), mux.Vars(r)["app"], st, q.Get("after"), limit)
	if err != nil {
		return err
	}
	if users == nil {
		users = []bridge.UserStatus{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": users, "next": next})
	return nil
}

func (a *api) getUser(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	st, err := a.engine.UserStatus(r.Context(), v["app"], v["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// syncBody is the optional body of POST .../sync.
type syncBody struct {
	AllInScope bool `json:"all_in_scope"`
}

func (a *api) startSync(w http.ResponseWriter, r *http.Request) error {
	var body syncBody
	if err := decodeBody(w, r, &body, true); err != nil {
		return err
	}
	job, err := a.engine.StartSync(r.Context(), mux.Vars(r)["app"], bridge.SyncOptions{
		AllInScope: body.AllInScope, RequestedBy: caller(r),
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/jobs/"+url.PathEscape(job.ID))
	writeJSON(w, http.StatusAccepted, job)
	return nil
}

func (a *api) getJob(w http.ResponseWriter, r *http.Request) error {
	job, err := a.engine.Job(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, job)
	return nil
}

func (a *api) cancelJob(w http.ResponseWriter, r *http.Request) error {
	job, err := a.engine.CancelJob(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, job)
	return nil
}

func (a *api) listDeadLetters(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	dls, next, err := a.engine.DeadLetters(r.Context(), mux.Vars(r)["app"],
		r.URL.Query().Get("after"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": dls, "next": next})
	return nil
}

func (a *api) replay(w http.ResponseWriter, r *http.Request) error {
	v := mux.Vars(r)
	if err := a.engine.Replay(r.Context(), v["app"], v["id"]); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"app": v["app"], "user": v["id"],
		"replayed": true})
	return nil
}

func (a *api) getLog(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r)
	if err != nil {
		return err
	}
	ops, err := a.engine.Log(r.Context(), mux.Vars(r)["app"], limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": ops})
	return nil
}
