package runner

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/warroom/warroom/plugins/sdk"
)

// DecodeStatus reads a JSON document in the shape of sdk.Status,
// strictly (unknown fields are refused). A service whose target leaves
// environment or region empty takes req's.
func DecodeStatus(data []byte, req sdk.Target) (sdk.Status, error) {
	var st sdk.Status
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		if errors.Is(err, io.EOF) {
			return sdk.Status{}, errors.New("no JSON document; want one in the shape of sdk.Status")
		}
		return sdk.Status{}, fmt.Errorf("not valid status JSON: %v", err)
	}
	if dec.More() {
		return sdk.Status{}, errors.New("more than one JSON document")
	}
	for i := range st.Services {
		s := &st.Services[i]
		if s.Target.Service == "" {
			return sdk.Status{}, fmt.Errorf("services[%d] has no target.service", i)
		}
		if s.Target.Environment == "" {
			s.Target.Environment = req.Environment
		}
		if s.Target.Region == "" {
			s.Target.Region = req.Region
		}
	}
	return st, nil
}

// MergeKeys returns a's keys then b's not in a, without empty keys.
func MergeKeys(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for _, k := range slices.Concat(a, b) {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// ValidateWeights checks a traffic split: distinct versions without '='
// or ',', each share 0..100, summing to 100. Its errors are CodeInvalid.
func ValidateWeights(ws []sdk.TrafficWeight) error {
	if len(ws) == 0 {
		return sdk.Errorf(sdk.CodeInvalid, "set_traffic: no weights given")
	}
	seen := map[string]bool{}
	sum := 0
	for _, w := range ws {
		switch {
		case w.Version == "":
			return sdk.Errorf(sdk.CodeInvalid, "set_traffic: a weight has no version")
		case strings.ContainsAny(w.Version, "=,"):
			return sdk.Errorf(sdk.CodeInvalid, "set_traffic: version %q contains '=' or ','", w.Version)
		case w.Percent < 0 || w.Percent > 100:
			return sdk.Errorf(sdk.CodeInvalid, "set_traffic: weight %d of %s is outside 0..100", w.Percent, w.Version)
		case seen[w.Version]:
			return sdk.Errorf(sdk.CodeInvalid, "set_traffic: version %s appears twice", w.Version)
		}
		seen[w.Version] = true
		sum += w.Percent
	}
	if sum != 100 {
		return sdk.Errorf(sdk.CodeInvalid, "set_traffic: weights sum to %d, not 100", sum)
	}
	return nil
}
