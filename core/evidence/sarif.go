package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Finding is one open (unsuppressed) result of a SARIF report.
type Finding struct {
	RuleID   string
	Severity string // low, medium, high, critical
	Location string // "path:line" when the report gives one
	Message  string
}

// Severities ranks finding severities, lowest first (as model.Severities).
var severityRank = map[string]int{"low": 1, "medium": 2, "high": 3, "critical": 4}

// sarifRule is the part of a reportingDescriptor that gives severity.
type sarifRule struct {
	ID                   string `json:"id"`
	DefaultConfiguration struct {
		Level string `json:"level"`
	} `json:"defaultConfiguration"`
	Properties sarifProps `json:"properties"`
}

type sarifProps struct {
	SecuritySeverity json.RawMessage `json:"security-severity"`
	Tags             []string        `json:"tags"`
}

// tagSeverity finds a severity among a rule's or result's tags: gosec,
// for one, writes every result at level "error" and says the severity
// only as a tag ("HIGH", "MEDIUM", "LOW").
func tagSeverity(p sarifProps) (string, bool) {
	for _, t := range p.Tags {
		if s := strings.ToLower(t); severityRank[s] > 0 {
			return s, true
		}
	}
	return "", false
}

type sarifResult struct {
	RuleID    string `json:"ruleId"`
	RuleIndex *int   `json:"ruleIndex"`
	Rule      *struct {
		ID    string `json:"id"`
		Index *int   `json:"index"`
	} `json:"rule"`
	Level   string `json:"level"`
	Message struct {
		Text string `json:"text"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region struct {
				StartLine int `json:"startLine"`
			} `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	Suppressions []struct {
		Kind   string `json:"kind"`
		Status string `json:"status"`
	} `json:"suppressions"`
	Properties sarifProps `json:"properties"`
}

const sarifHint = "give a SARIF 2.1.0 log (e.g. gosec -fmt sarif, CodeQL, Semgrep --sarif)"

// readSARIF streams a SARIF 2.1.0 log: each run's results are decoded one
// at a time. Rules are read whole (they are few), and results are given
// their rule's severity when the run ends, since SARIF does not order the
// tool before the results.
func readSARIF(ctx context.Context, r io.Reader, name string) (*Reading, error) {
	s := newJSONStream(r, name, "SARIF", sarifHint)
	rd := &Reading{Format: FormatSARIF}
	version := ""
	sawRuns := false
	n := 0
	err := s.object("the SARIF log", func(key string) error {
		switch key {
		case "version":
			off := s.dec.InputOffset()
			if err := s.decode(&version); err != nil {
				return err
			}
			if version != "2.1.0" {
				return s.errAt(off, fmt.Sprintf("SARIF version %q is not supported", version), "warroom reads SARIF 2.1.0; ask the tool for that version")
			}
			return nil
		case "runs":
			sawRuns = true
			return s.array("runs", func() error {
				var (
					rules   []sarifRule
					pending []sarifResult
				)
				err := s.object("a run", func(key string) error {
					switch key {
					case "tool":
						var tool struct {
							Driver struct {
								Rules []sarifRule `json:"rules"`
							} `json:"driver"`
						}
						if err := s.decode(&tool); err != nil {
							return err
						}
						rules = tool.Driver.Rules
						return nil
					case "results":
						return s.array("results", func() error {
							if n++; n%checkEvery == 0 {
								if err := ctxErr(ctx, name); err != nil {
									return err
								}
							}
							var res sarifResult
							if err := s.decode(&res); err != nil {
								return err
							}
							if suppressed(res) {
								rd.Suppressed++
								return nil
							}
							pending = append(pending, res)
							return nil
						})
					}
					return s.skip()
				})
				if err != nil {
					return err
				}
				for _, res := range pending {
					if f, ok := finding(res, rules); ok {
						rd.Findings = append(rd.Findings, f)
					}
				}
				return nil
			})
		}
		return s.skip()
	})
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if version == "" || !sawRuns {
		return nil, &Error{File: name, Line: 1, Col: 1, Msg: `not a SARIF log: "version" or "runs" is missing`, Hint: sarifHint}
	}
	return rd, nil
}

// suppressed reports whether a result is suppressed: SARIF 2.1.0 §3.27.23,
// a suppression counts unless its status is "rejected" (an "underReview"
// one counts, as GitHub code scanning counts it).
func suppressed(res sarifResult) bool {
	for _, s := range res.Suppressions {
		if s.Status != "rejected" {
			return true
		}
	}
	return false
}

// finding turns a result into a Finding with a severity: security-severity
// of the result, else of its rule, else a severity tag (low, medium, high,
// critical, any case) of the result, else of its rule, else its level (else its rule's default
// level, else "warning", SARIF's default). A level of "none" is not a
// finding.
func finding(res sarifResult, rules []sarifRule) (Finding, bool) {
	var rule *sarifRule
	idx := res.RuleIndex
	if idx == nil && res.Rule != nil {
		idx = res.Rule.Index
	}
	id := res.RuleID
	if id == "" && res.Rule != nil {
		id = res.Rule.ID
	}
	if idx != nil && *idx >= 0 && *idx < len(rules) {
		rule = &rules[*idx]
	} else {
		for i := range rules {
			if rules[i].ID == id {
				rule = &rules[i]
				break
			}
		}
	}
	if id == "" && rule != nil {
		id = rule.ID
	}
	sev, ok := scoreSeverity(res.Properties.SecuritySeverity)
	if !ok && rule != nil {
		sev, ok = scoreSeverity(rule.Properties.SecuritySeverity)
	}
	if !ok {
		sev, ok = tagSeverity(res.Properties)
	}
	if !ok && rule != nil {
		sev, ok = tagSeverity(rule.Properties)
	}
	if !ok {
		level := res.Level
		if level == "" && rule != nil {
			level = rule.DefaultConfiguration.Level
		}
		switch level {
		case "error":
			sev = "high"
		case "warning", "":
			sev = "medium"
		case "note":
			sev = "low"
		default: // "none": informational, not a finding
			return Finding{}, false
		}
	}
	f := Finding{RuleID: id, Severity: sev, Message: res.Message.Text}
	if len(res.Locations) > 0 {
		pl := res.Locations[0].PhysicalLocation
		f.Location = pl.ArtifactLocation.URI
		if pl.Region.StartLine > 0 {
			f.Location += ":" + strconv.Itoa(pl.Region.StartLine)
		}
	}
	return f, true
}

// scoreSeverity maps a security-severity (a CVSS score, written as a
// string or a number) to a severity as GitHub code scanning does: over 9.0
// critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
func scoreSeverity(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	text := strings.Trim(string(raw), `"`)
	score, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || score < 0 || score > 10 || score != score {
		return "", false
	}
	switch {
	case score >= 9:
		return "critical", true
	case score >= 7:
		return "high", true
	case score >= 4:
		return "medium", true
	case score > 0:
		return "low", true
	}
	return "", false
}
