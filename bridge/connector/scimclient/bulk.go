package scimclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/scim-bridge/scim-bridge/bridge/connector"
)

// MaxBulk returns how many operations one Bulk call takes: the
// application's advertised maxOperations, capped by the settings. It is
// zero when the application supports Bulk or PATCH not, or the settings
// turn Bulk off; the first call asks the application.
func (cl *Client) MaxBulk(ctx context.Context) (int, error) {
	caps, err := cl.discover(ctx)
	if err != nil {
		return 0, err
	}
	if !caps.bulk || !caps.patch || cl.maxBulkCap < 0 {
		return 0, nil
	}
	if cl.maxBulkCap > 0 && cl.maxBulkCap < caps.maxOps {
		return cl.maxBulkCap, nil
	}
	return caps.maxOps, nil
}

// bulkOp is one operation of a BulkRequest (RFC 7644 section 3.7).
type bulkOp struct {
	Method string `json:"method"`
	BulkID string `json:"bulkId,omitempty"`
	Path   string `json:"path"`
	Data   any    `json:"data,omitempty"`
}

// bulkResult is one operation of a BulkResponse.
type bulkResult struct {
	Method   string          `json:"method"`
	BulkID   string          `json:"bulkId"`
	Location string          `json:"location"`
	Status   json.RawMessage `json:"status"` // a string in the RFC, a number from some servers
	Response json.RawMessage `json:"response"`
}

// Bulk sends ops in one POST /Bulk and returns each operation's result,
// classified as its single call would be: creates as POST, updates as
// PATCH operations, deactivations as PATCH of active, deletions as DELETE.
// An operation whose fields are invalid is not sent and gets its error.
// Operations that do not fit the application's advertised maxPayloadSize
// in one request go in several, one after another; one that fits no
// request gets its own error. The whole call fails when ops is longer
// than MaxBulk or its only request fails; when there were several, a
// request that failed gives its error to each of its operations.
func (cl *Client) Bulk(ctx context.Context, ops []connector.Operation) ([]connector.Result, error) {
	most, err := cl.MaxBulk(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case most == 0:
		return nil, &connector.Error{Op: "bulk",
			Err: errors.New("the application takes no bulk requests")}
	case len(ops) > most:
		return nil, &connector.Error{Op: "bulk",
			Err: fmt.Errorf("%d operations, the application takes at most %d", len(ops), most)}
	}

	results := make([]connector.Result, len(ops))
	var sent []bulkOp
	var index []int // position in ops of each sent operation
	for i, op := range ops {
		b, err := toBulkOp(op, i)
		if err != nil {
			results[i].Err = err
			continue
		}
		sent = append(sent, b)
		index = append(index, i)
	}
	if len(sent) == 0 {
		return results, nil
	}

	caps, err := cl.discover(ctx)
	if err != nil {
		return nil, err
	}
	parts, tooBig := splitPayload(sent, caps.maxPayload)
	for _, k := range tooBig {
		results[index[k]].Err = &connector.Error{Op: string(ops[index[k]].Kind), Err: fmt.Errorf(
			"the operation alone exceeds the application's bulk payload limit of %d bytes",
			caps.maxPayload)}
	}
	for _, part := range parts {
		answers, err := cl.postBulk(ctx, pick(sent, part))
		if err != nil && len(parts) == 1 {
			return nil, err
		}
		for j, a := range matchResults(pick(sent, part), answers) {
			i := index[part[j]]
			if err != nil {
				// Other parts went through: this one's failure is
				// each of its operations' own.
				results[i].Err = err
				continue
			}
			results[i] = cl.result(ops[i].Kind, a)
		}
	}
	return results, nil
}

// splitPayload groups the operations (by position in sent) into requests
// whose bodies fit the application's payload limit (none when limit is
// zero), in order; tooBig are those that fit no request on their own.
func splitPayload(sent []bulkOp, limit int) (parts [][]int, tooBig []int) {
	all := make([]int, len(sent))
	for k := range sent {
		all[k] = k
	}
	if limit <= 0 {
		return [][]int{all}, nil
	}
	envelope, _ := json.Marshal(bulkBody(nil))
	size := len(envelope)
	var part []int
	for k, op := range sent {
		b, _ := json.Marshal(op)
		n := len(b) + 1 // and a comma
		if len(envelope)+n > limit {
			tooBig = append(tooBig, k)
			continue
		}
		if size+n > limit {
			parts, part, size = append(parts, part), nil, len(envelope)
		}
		part, size = append(part, k), size+n
	}
	if len(part) > 0 {
		parts = append(parts, part)
	}
	return parts, tooBig
}

func pick(sent []bulkOp, part []int) []bulkOp {
	out := make([]bulkOp, len(part))
	for j, k := range part {
		out[j] = sent[k]
	}
	return out
}

func bulkBody(sent []bulkOp) map[string]any {
	if sent == nil {
		sent = []bulkOp{}
	}
	return map[string]any{"schemas": []string{bulkReqSchema}, "Operations": sent}
}

func (cl *Client) postBulk(ctx context.Context, sent []bulkOp) ([]bulkResult, error) {
	body := bulkBody(sent)
	var resp struct {
		Operations []bulkResult `json:"Operations"`
	}
	status, err := cl.exchange(ctx, call{op: "bulk", method: http.MethodPost, path: "/Bulk",
		body: body, out: &resp})
	if err != nil {
		// Not-found and conflict here speak of the endpoint, not of an account.
		return nil, notAboutAccount(status, err)
	}
	return resp.Operations, nil
}

func toBulkOp(op connector.Operation, i int) (bulkOp, error) {
	name := string(op.Kind)
	if op.Kind != connector.OpCreate {
		if err := checkID(name, op.ID); err != nil {
			return bulkOp{}, err
		}
	}
	switch op.Kind {
	case connector.OpCreate:
		u, err := newUser(op.Fields)
		if err != nil {
			return bulkOp{}, &connector.Error{Op: name, Err: err}
		}
		return bulkOp{Method: http.MethodPost, BulkID: "op" + strconv.Itoa(i), Path: "/Users",
			Data: u.document()}, nil
	case connector.OpUpdate:
		u, err := newUser(op.Fields)
		if err != nil {
			return bulkOp{}, &connector.Error{Op: name, Err: err}
		}
		return bulkOp{Method: http.MethodPatch, Path: userPath(op.ID),
			Data: patchBody(u.patchOps())}, nil
	case connector.OpDeactivate:
		return bulkOp{Method: http.MethodPatch, Path: userPath(op.ID),
			Data: patchBody(deactivateOps())}, nil
	case connector.OpDelete:
		return bulkOp{Method: http.MethodDelete, Path: userPath(op.ID)}, nil
	}
	return bulkOp{}, &connector.Error{Op: "bulk", Err: fmt.Errorf("unknown operation %q", op.Kind)}
}

// matchResults pairs each sent operation with its answer, or nil when the
// application sent none. Answers are taken in order when they line up with
// the request, else found by bulkId (creates) or location and method.
func matchResults(sent []bulkOp, answers []bulkResult) []*bulkResult {
	out := make([]*bulkResult, len(sent))
	inOrder := len(answers) == len(sent)
	for k := range sent {
		if !inOrder || !strings.EqualFold(sent[k].Method, answers[k].Method) {
			inOrder = false
			break
		}
	}
	if inOrder {
		for k := range sent {
			out[k] = &answers[k]
		}
		return out
	}

	used := make([]bool, len(answers))
	for k, s := range sent {
		for j := range answers {
			a := &answers[j]
			if used[j] || !strings.EqualFold(a.Method, s.Method) {
				continue
			}
			if s.BulkID != "" && a.BulkID == s.BulkID ||
				s.BulkID == "" && strings.HasSuffix(a.Location, s.Path) {
				used[j], out[k] = true, a
				break
			}
		}
	}
	return out
}

// result turns one operation's answer into its connector.Result.
func (cl *Client) result(kind connector.OpKind, a *bulkResult) connector.Result {
	op := string(kind)
	if a == nil {
		return connector.Result{Err: &connector.Error{Op: op, Retryable: true,
			Err: errors.New("the application sent no result for the operation")}}
	}
	status := parseStatus(a.Status)
	if status < 200 || status > 299 {
		return connector.Result{Err: connector.StatusError(op, status, nil, detail(a.Response), cl.now())}
	}
	if kind != connector.OpCreate {
		return connector.Result{}
	}

	id := locationID(a.Location)
	if id == "" {
		var created struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(a.Response, &created)
		id = created.ID
	}
	if id == "" {
		return connector.Result{Err: &connector.Error{Op: op, Status: status,
			Err: errors.New("the application answered without an id")}}
	}
	return connector.Result{ID: id}
}

func parseStatus(raw json.RawMessage) int {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		s = string(raw)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

// locationID is the last path segment of a resource location.
func locationID(loc string) string {
	u, err := url.Parse(loc)
	if err != nil || u.Path == "" || strings.HasSuffix(u.Path, "/") {
		return ""
	}
	return path.Base(u.Path)
}
