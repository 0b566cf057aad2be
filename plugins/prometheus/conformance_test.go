package main

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/conformance"
)

// TestConformance runs warroom's plugin suite against the built plugin,
// pointed at a fake Prometheus and Alertmanager.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the plugin binary")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		now := strconv.FormatInt(time.Now().Unix(), 10)
		switch r.URL.Path {
		case "/api/v1/query":
			w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"payments","version":"1"},"value":[` + now + `,"3"]}]}}`))
		case "/api/v1/query_range":
			w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"service":"payments","version":"1"},"values":[[` + now + `,"3"]]}]}}`))
		case "/api/v2/alerts":
			w.Write([]byte(amAlertsJSON))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	conformance.RunT(t, pluginBin, map[string]string{"url": srv.URL, "alertmanager_url": srv.URL, "interval": "100ms"})
}
