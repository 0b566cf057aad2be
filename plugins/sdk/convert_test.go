package sdk

import (
	"fmt"
	"hash/fnv"
	"math"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	pb "github.com/warroom/warroom/plugins/proto/pluginv1"
)

// The round-trip tests fill every field of an SDK value with a value
// derived from the field's name, convert it to protobuf, and check every
// protobuf field is set to the value its own name calls for. A field the
// converters forget, or two fields they swap, fails; so does a field added
// to a .proto file and not to the converters.

// nameValue is the number a field of that (snake_case) name holds.
func nameValue(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return int64(h.Sum32()%100000) + 1
}

// snake turns a Go field name into the proto field name it pairs with:
// RunID -> run_id, URL -> url.
func snake(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i, c := range r {
		if unicode.IsUpper(c) {
			if i > 0 && (unicode.IsLower(r[i-1]) || (i+1 < len(r) && unicode.IsLower(r[i+1]))) {
				b.WriteByte('_')
			}
			c = unicode.ToLower(c)
		}
		b.WriteRune(c)
	}
	return b.String()
}

// protoAlias maps proto field names whose SDK field is named otherwise.
var protoAlias = map[string]string{
	"default_value": "default",
	"value":         "v",
}

func protoNameKey(name string) string {
	if a, ok := protoAlias[name]; ok {
		return a
	}
	return strings.TrimSuffix(name, "_ms")
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	durationType = reflect.TypeFor[time.Duration]()
	kindType     = reflect.TypeFor[Kind]()
)

// fill sets every field of v (and of what it holds) from its name.
func fill(v reflect.Value, name string) {
	switch {
	case v.Type() == timeType:
		v.Set(reflect.ValueOf(time.UnixMilli(nameValue(name))))
		return
	case v.Type() == durationType:
		v.SetInt(nameValue(name) * int64(time.Millisecond))
		return
	case v.Type() == reflect.TypeFor[[]Kind]():
		v.Set(reflect.ValueOf([]Kind{KindDeployTarget, KindMonitoringSource, KindTicketing}))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Int, reflect.Int64:
		v.SetInt(nameValue(name))
	case reflect.Float64:
		v.SetFloat(float64(nameValue(name)) + 0.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if f.IsExported() {
				fill(v.Field(i), snake(f.Name))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			if s.Index(i).Kind() == reflect.String {
				s.Index(i).SetString(fmt.Sprintf("%s-%d", name, i))
			} else {
				fill(s.Index(i), name)
			}
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for i := range 2 {
			m.SetMapIndex(reflect.ValueOf(fmt.Sprintf("%s-k%d", name, i)), reflect.ValueOf(fmt.Sprintf("%s-v%d", name, i)))
		}
		v.Set(m)
	default:
		panic(fmt.Sprintf("fill: %s of kind %s", name, v.Kind()))
	}
}

func filled[T any](name string) T {
	var v T
	fill(reflect.ValueOf(&v).Elem(), name)
	return v
}

var (
	visitedMu sync.Mutex
	visited   = map[protoreflect.FullName]bool{}
)

// checkPB reports a field of m that is not set, or not set to the value
// its name calls for.
func checkPB(t *testing.T, m protoreflect.Message, path string) {
	t.Helper()
	visitedMu.Lock()
	visited[m.Descriptor().FullName()] = true
	visitedMu.Unlock()
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		at := path + "." + string(fd.Name())
		if !m.Has(fd) {
			t.Errorf("%s is not set", at)
			continue
		}
		key := protoNameKey(string(fd.Name()))
		v := m.Get(fd)
		switch {
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				if !strings.HasPrefix(k.String(), key+"-k") || !strings.HasPrefix(mv.String(), key+"-v") {
					t.Errorf("%s has %q: %q, want keys and values of %s", at, k.String(), mv.String(), key)
				}
				return true
			})
		case fd.IsList():
			l := v.List()
			for j := range l.Len() {
				switch fd.Kind() {
				case protoreflect.MessageKind:
					checkPB(t, l.Get(j).Message(), fmt.Sprintf("%s[%d]", at, j))
				case protoreflect.StringKind:
					if want := fmt.Sprintf("%s-%d", key, j); l.Get(j).String() != want {
						t.Errorf("%s[%d] = %q, want %q", at, j, l.Get(j).String(), want)
					}
				}
			}
		case fd.Kind() == protoreflect.MessageKind:
			checkPB(t, v.Message(), at)
		case fd.Kind() == protoreflect.StringKind:
			if v.String() != key {
				t.Errorf("%s = %q, want %q", at, v.String(), key)
			}
		case fd.Kind() == protoreflect.Int32Kind || fd.Kind() == protoreflect.Int64Kind:
			if v.Int() != nameValue(key) {
				t.Errorf("%s = %d, want %d (the value of %s)", at, v.Int(), nameValue(key), key)
			}
		case fd.Kind() == protoreflect.DoubleKind:
			if want := float64(nameValue(key)) + 0.5; v.Float() != want {
				t.Errorf("%s = %v, want %v", at, v.Float(), want)
			}
		}
	}
}

// roundTrip is one SDK type and its protobuf message.
type roundTrip struct {
	name string
	run  func(t *testing.T)
}

func pair[S any, P proto.Message](name string, to func(*enc, S) P, from func(P) (S, error)) roundTrip {
	return roundTrip{name: name, run: func(t *testing.T) {
		want := filled[S](snake(name))
		var e enc
		m := to(&e, want)
		if e.err != nil {
			t.Fatalf("to protobuf: %v", e.err)
		}
		checkPB(t, m.ProtoReflect(), string(m.ProtoReflect().Descriptor().Name()))

		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		wire := m.ProtoReflect().Type().New().Interface().(P)
		if err := proto.Unmarshal(b, wire); err != nil {
			t.Fatal(err)
		}
		got, err := from(wire)
		if err != nil {
			t.Fatalf("from protobuf: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("sdk -> pb -> sdk:\n got %+v\nwant %+v", got, want)
		}
		back := to(&e, got)
		if !proto.Equal(back, wire) {
			t.Errorf("pb -> sdk -> pb:\n got %v\nwant %v", back, wire)
		}
	}}
}

func plain[S, P any](f func(S) P) func(*enc, S) P { return func(_ *enc, s S) P { return f(s) } }

func infallible[P, S any](f func(P) S) func(P) (S, error) {
	return func(p P) (S, error) { return f(p), nil }
}

var roundTrips = []roundTrip{
	pair("Info", plain(infoToPB), infoFromPB),
	pair("Config", plain(configToPB), infallible(configFromPB)),
	pair("Capabilities", capabilitiesToPB, infallible(capabilitiesFromPB)),
	pair("PreflightRequest", plain(preflightRequestToPB), infallible(preflightRequestFromPB)),
	pair("PreflightResponse",
		plain(func(cs []Check) *pb.PreflightResponse { return &pb.PreflightResponse{Checks: each(cs, checkToPB)} }),
		infallible(func(r *pb.PreflightResponse) []Check { return each(r.GetChecks(), checkFromPB) })),
	pair("DeployRequest", deployRequestToPB, infallible(deployRequestFromPB)),
	pair("DeployEvent", deployEventToPB, infallible(deployEventFromPB)),
	pair("SetTrafficRequest", setTrafficRequestToPB, infallible(setTrafficRequestFromPB)),
	pair("SetTrafficResponse",
		func(e *enc, ws []TrafficWeight) *pb.SetTrafficResponse {
			return &pb.SetTrafficResponse{Applied: trafficWeightsToPB(e, ws)}
		},
		infallible(func(r *pb.SetTrafficResponse) []TrafficWeight { return each(r.GetApplied(), trafficWeightFromPB) })),
	pair("VerifyRequest", plain(verifyRequestToPB), infallible(verifyRequestFromPB)),
	pair("VerifyResponse",
		plain(func(cs []Check) *pb.VerifyResponse { return &pb.VerifyResponse{Checks: each(cs, checkToPB)} }),
		infallible(func(r *pb.VerifyResponse) []Check { return each(r.GetChecks(), checkFromPB) })),
	pair("RollbackRequest", rollbackRequestToPB, infallible(rollbackRequestFromPB)),
	pair("StatusRequest", plain(statusRequestToPB), infallible(statusRequestFromPB)),
	pair("Status", statusToPB, infallible(statusFromPB)),
	pair("MonitoringCapabilities", plain(monitoringCapabilitiesToPB), infallible(monitoringCapabilitiesFromPB)),
	pair("QueryRequest", plain(queryRequestToPB), infallible(queryRequestFromPB)),
	pair("QueryResponse",
		plain(func(ss []Series) *pb.QueryResponse { return &pb.QueryResponse{Series: each(ss, seriesToPB)} }),
		infallible(func(r *pb.QueryResponse) []Series { return each(r.GetSeries(), seriesFromPB) })),
	pair("WatchRequest", plain(watchRequestToPB), infallible(watchRequestFromPB)),
	pair("AlertsRequest", plain(alertsRequestToPB), infallible(alertsRequestFromPB)),
	pair("AlertsResponse",
		plain(func(as []Alert) *pb.AlertsResponse { return &pb.AlertsResponse{Alerts: each(as, alertToPB)} }),
		infallible(func(r *pb.AlertsResponse) []Alert { return each(r.GetAlerts(), alertFromPB) })),
	pair("LogsRequest", logsRequestToPB, infallible(logsRequestFromPB)),
	pair("LogsResult", plain(logsResultToPB), infallible(logsResultFromPB)),
	pair("TicketingCapabilities", plain(ticketingCapabilitiesToPB), infallible(ticketingCapabilitiesFromPB)),
	pair("CreateChangeRequest", plain(createChangeRequestToPB), infallible(createChangeRequestFromPB)),
	pair("GetChangeRequest",
		plain(func(c changeID) *pb.GetChangeRequest { return &pb.GetChangeRequest{Id: c.ID} }),
		infallible(func(r *pb.GetChangeRequest) changeID { return changeID{ID: r.GetId()} })),
	pair("Change", plain(changeToPB), infallible(changeFromPB)),
	pair("CommentRequest", plain(commentRequestToPB), infallible(commentRequestFromPB)),
	pair("TransitionRequest", plain(transitionRequestToPB), infallible(transitionRequestFromPB)),
	pair("NotifyRequest", plain(notifyRequestToPB), infallible(notifyRequestFromPB)),
	pair("NotifyResult", plain(notifyResultToPB), infallible(notifyResultFromPB)),
}

// changeID stands for GetChange's id argument.
type changeID struct{ ID string }

func TestConvertRoundTrip(t *testing.T) {
	for _, rt := range roundTrips {
		t.Run(rt.name, rt.run)
	}
}

// notConverted are the messages the round trips above do not reach, and
// the test that covers each.
var notConverted = map[protoreflect.FullName]string{
	"warroom.plugin.v1.InfoRequest":               "empty",
	"warroom.plugin.v1.DescribeTargetRequest":     "empty",
	"warroom.plugin.v1.DescribeMonitoringRequest": "empty",
	"warroom.plugin.v1.DescribeTicketingRequest":  "empty",
	"warroom.plugin.v1.ConfigureResponse":         "TestConfigureDiagnostics",
	"warroom.plugin.v1.Diagnostic":                "TestConfigureDiagnostics",
	"warroom.plugin.v1.SampleBatch":               "TestSampleWriter, TestWatch*",
	"warroom.plugin.v1.SeriesDef":                 "TestSampleWriter, TestWatch*",
	"warroom.plugin.v1.Sample":                    "TestSampleWriter, TestWatch*",
}

// TestEveryMessageConverted fails when a message is added to the
// contract without a round trip here.
func TestEveryMessageConverted(t *testing.T) {
	for _, rt := range roundTrips {
		t.Run(rt.name, rt.run)
	}
	var missing []string
	for _, f := range []protoreflect.FileDescriptor{
		pb.File_warroom_plugin_v1_provider_proto,
		pb.File_warroom_plugin_v1_deploy_proto,
		pb.File_warroom_plugin_v1_monitoring_proto,
		pb.File_warroom_plugin_v1_ticketing_proto,
	} {
		msgs := f.Messages()
		for i := range msgs.Len() {
			name := msgs.Get(i).FullName()
			if !visited[name] && notConverted[name] == "" {
				missing = append(missing, string(name))
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("no round trip reaches %s", strings.Join(missing, ", "))
	}
}

func TestConvertZeroValues(t *testing.T) {
	if got := msToTime(timeToMS(time.Time{})); !got.IsZero() {
		t.Errorf("zero time came back as %v", got)
	}
	if got := deployEventFromPB(deployEventToPB(&enc{}, DeployEvent{})); !reflect.DeepEqual(got, DeployEvent{}) {
		t.Errorf("zero event came back as %+v", got)
	}
	// nil sub-messages read as zero values rather than panicking.
	if got := deployRequestFromPB(&pb.DeployRequest{}); !reflect.DeepEqual(got, DeployRequest{}) {
		t.Errorf("empty request came back as %+v", got)
	}
	if got := msToDur(math.MaxInt64); got != math.MaxInt64 {
		t.Errorf("huge duration wrapped to %v", got)
	}
}

func TestConvertIntOverflow(t *testing.T) {
	tests := []struct {
		name string
		to   func(e *enc)
		want string
	}{
		{"batch size", func(e *enc) { deployRequestToPB(e, DeployRequest{BatchSize: math.MaxInt32 + 1}) }, "batch_size"},
		{"negative", func(e *enc) { deployEventToPB(e, DeployEvent{Percent: math.MinInt32 - 1}) }, "percent"},
		{"nested", func(e *enc) {
			statusToPB(e, Status{Services: []ServiceStatus{{Versions: []VersionStatus{{Ready: 1 << 40}}}}})
		}, "ready"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e enc
			tt.to(&e)
			if e.err == nil || !strings.Contains(e.err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %s", e.err, tt.want)
			}
		})
	}
}

func TestInfoUnknownKind(t *testing.T) {
	for _, k := range []pb.Kind{pb.Kind_KIND_UNSPECIFIED, pb.Kind(42)} {
		_, err := infoFromPB(&pb.InfoResponse{Name: "x", Kinds: []pb.Kind{pb.Kind_KIND_TICKETING, k}})
		if err == nil || !strings.Contains(err.Error(), "unknown provider kind") {
			t.Errorf("kind %d: err = %v, want a malformed answer", k, err)
		}
	}
}
