package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// envelope is the Prometheus HTTP API's response.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
}

type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

// apiSeries is one element of a vector (Value) or matrix (Values) result.
type apiSeries struct {
	Metric map[string]string `json:"metric"`
	Value  *apiSample        `json:"value"`
	Values []apiSample       `json:"values"`
}

// apiSample is [unix seconds (float), "value"].
type apiSample struct {
	T int64 // Unix milliseconds
	V float64
}

func (s *apiSample) UnmarshalJSON(b []byte) error {
	var pair [2]json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil {
		return err
	}
	var t float64
	if err := json.Unmarshal(pair[0], &t); err != nil {
		return fmt.Errorf("sample time: %v", err)
	}
	var v string
	if err := json.Unmarshal(pair[1], &v); err != nil {
		return fmt.Errorf("sample value: %v", err)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return fmt.Errorf("sample value: %v", err)
	}
	s.T = int64(math.Round(t * 1000))
	s.V = f
	return nil
}

// result is a parsed query result: series with their labels (without
// __name__) and points, NaN points left out.
type result struct {
	Labels map[string]string
	Points []sdk.Point
}

// codeFor maps an API errorType to a code.
func codeFor(errorType string, httpStatus int) sdk.Code {
	switch errorType {
	case "bad_data", "400", "422":
		return sdk.CodeInvalid
	case "timeout", "canceled", "unavailable", "503":
		return sdk.CodeUnavailable
	case "not_found", "404":
		return sdk.CodeNotFound
	}
	switch {
	case httpStatus == http.StatusBadRequest || httpStatus == http.StatusUnprocessableEntity:
		return sdk.CodeInvalid
	case httpStatus >= 500 && httpStatus != http.StatusInternalServerError:
		return sdk.CodeUnavailable
	}
	return sdk.CodeInternal
}

// get calls a GET endpoint and returns its body, with network failures as
// CodeUnavailable. It returns the body of any status: the caller decides.
func (s *source) get(ctx context.Context, cfg config, u string) ([]byte, int, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, sdk.Errorf(sdk.CodeInvalid, "%v", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, 0, err
		}
		return nil, 0, sdk.Errorf(sdk.CodeUnavailable, "%s unreachable: %v", redact(u), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, 0, sdk.Errorf(sdk.CodeUnavailable, "%s: reading the answer: %v", redact(u), err)
	}
	return b, resp.StatusCode, nil
}

// redact drops the query of a URL (a PromQL expression is long).
func redact(u string) string {
	p, _, _ := strings.Cut(u, "?")
	return p
}

// promQuery calls /api/v1/query or /api/v1/query_range and parses the
// envelope; an error answer becomes an sdk error with the API's errorType
// and message.
func (s *source) promQuery(ctx context.Context, cfg config, path string, params url.Values) ([]result, error) {
	u := cfg.url + path + "?" + params.Encode()
	b, status, err := s.get(ctx, cfg, u)
	if err != nil {
		return nil, err
	}
	return parseQueryResponse(b, status, cfg.url+path)
}

func parseQueryResponse(b []byte, status int, where string) ([]result, error) {
	var env envelope
	if err := json.Unmarshal(b, &env); err != nil || env.Status == "" {
		snippet := strings.TrimSpace(string(b))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		if status != http.StatusOK {
			return nil, sdk.Errorf(codeFor("", status), "%s: HTTP %d: %s", where, status, snippet)
		}
		return nil, sdk.Errorf(sdk.CodeInternal, "%s: not a Prometheus API answer: %s", where, snippet)
	}
	if env.Status != "success" {
		return nil, sdk.Errorf(codeFor(env.ErrorType, status), "%s: %s: %s", where, env.ErrorType, env.Error)
	}
	var d queryData
	if err := json.Unmarshal(env.Data, &d); err != nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "%s: data: %v", where, err)
	}
	switch d.ResultType {
	case "vector", "matrix":
	case "scalar":
		var sm apiSample
		if err := json.Unmarshal(d.Result, &sm); err != nil {
			return nil, sdk.Errorf(sdk.CodeInternal, "%s: scalar result: %v", where, err)
		}
		if math.IsNaN(sm.V) {
			return []result{}, nil
		}
		return []result{{Labels: map[string]string{}, Points: []sdk.Point{{T: sm.T, V: sm.V}}}}, nil
	default:
		return nil, sdk.Errorf(sdk.CodeInvalid, "%s: result type %q: want a vector or a matrix", where, d.ResultType)
	}
	var raw []apiSeries
	if err := json.Unmarshal(d.Result, &raw); err != nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "%s: %s result: %v", where, d.ResultType, err)
	}
	out := make([]result, 0, len(raw))
	for _, r := range raw {
		labels := map[string]string{}
		for k, v := range r.Metric {
			if k != "__name__" {
				labels[k] = v
			}
		}
		samples := r.Values
		if r.Value != nil {
			samples = append(samples, *r.Value)
		}
		var pts []sdk.Point
		for _, sm := range samples {
			if !math.IsNaN(sm.V) {
				pts = append(pts, sdk.Point{T: sm.T, V: sm.V})
			}
		}
		if len(pts) > 0 {
			out = append(out, result{Labels: labels, Points: pts})
		}
	}
	sort.Slice(out, func(i, j int) bool { return labelKey(out[i].Labels) < labelKey(out[j].Labels) })
	return out, nil
}

// labelKey is a canonical string of a label set.
func labelKey(l map[string]string) string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, l[k])
	}
	return b.String()
}

// amAlert is an Alertmanager API v2 gettableAlert.
type amAlert struct {
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      time.Time         `json:"endsAt"`
	Fingerprint string            `json:"fingerprint"`
	Status      struct {
		State string `json:"state"` // active, suppressed, unprocessed
	} `json:"status"`
}

// alertState maps Alertmanager's state: active is firing; suppressed
// (silenced or inhibited) and unprocessed are pending; an alert whose
// endsAt has passed is resolved.
func alertState(a amAlert, now time.Time) string {
	if !a.EndsAt.IsZero() && a.EndsAt.Before(now) {
		return "resolved"
	}
	if a.Status.State == "active" {
		return "firing"
	}
	return "pending"
}

func parseAlerts(b []byte, status int, where string, now time.Time) ([]sdk.Alert, error) {
	if status != http.StatusOK {
		snippet := strings.TrimSpace(string(b))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "..."
		}
		// Alertmanager answers a bad filter with 400 and a JSON string.
		var msg string
		if json.Unmarshal(b, &msg) == nil {
			snippet = msg
		}
		return nil, sdk.Errorf(codeFor("", status), "%s: HTTP %d: %s", where, status, snippet)
	}
	var raw []amAlert
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, sdk.Errorf(sdk.CodeInternal, "%s: not an Alertmanager answer: %v", where, err)
	}
	out := make([]sdk.Alert, 0, len(raw))
	for _, a := range raw {
		out = append(out, sdk.Alert{
			Name:        a.Labels["alertname"],
			State:       alertState(a, now),
			Severity:    a.Labels["severity"],
			Labels:      a.Labels,
			Annotations: a.Annotations,
			StartsAt:    a.StartsAt,
			Fingerprint: a.Fingerprint,
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].StartsAt.Equal(out[j].StartsAt) {
			return out[i].StartsAt.Before(out[j].StartsAt)
		}
		return out[i].Fingerprint < out[j].Fingerprint
	})
	return out, nil
}
