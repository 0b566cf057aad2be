package evidence

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/github/go-spdx/v2/spdxexp"
)

// Package is one package of an SBOM with the licence expression that the
// gate judges.
type Package struct {
	SPDXID  string
	Name    string
	Version string
	// License is licenseConcluded, or licenseDeclared when the concluded
	// licence is NOASSERTION or absent; NOASSERTION when neither says.
	License string
	// Line is where the package starts in the file, for reasons.
	Line int
	// Described marks the document's subject (documentDescribes, or a
	// DESCRIBES relationship from the document): the thing built, not a
	// dependency of it, so a licence gate does not judge it.
	Described bool
}

// Special SPDX licence values: nobody looked, and no licence at all.
const (
	NoAssertion = "NOASSERTION"
	NoLicense   = "NONE"
)

type spdxPackage struct {
	SPDXID           string `json:"SPDXID"`
	Name             string `json:"name"`
	VersionInfo      string `json:"versionInfo"`
	LicenseConcluded string `json:"licenseConcluded"`
	LicenseDeclared  string `json:"licenseDeclared"`
}

const spdxHint = "give an SPDX 2.3 JSON document (e.g. syft -o spdx-json, or spdx/tools-golang's writer)"

// readSPDX streams an SPDX 2.3 JSON document, decoding its packages one at
// a time (spdx/tools-golang decodes the whole document, files and
// relationships included, which for a large image is most of the memory).
// Each licence expression is parsed here, so that a bad one is an error at
// its package's line rather than a failed gate later.
func readSPDX(ctx context.Context, r io.Reader, name string) (*Reading, error) {
	s := newJSONStream(r, name, "SPDX JSON", spdxHint)
	rd := &Reading{Format: FormatSPDX, Packages: []Package{}}
	version := ""
	n := 0
	described := map[string]bool{}
	err := s.object("the SPDX document", func(key string) error {
		switch key {
		case "documentDescribes":
			var ids []string
			if err := s.decode(&ids); err != nil {
				return err
			}
			for _, id := range ids {
				described[id] = true
			}
			return nil
		case "relationships":
			return s.array("relationships", func() error {
				var rel struct {
					From string `json:"spdxElementId"`
					Type string `json:"relationshipType"`
					To   string `json:"relatedSpdxElement"`
				}
				if err := s.decode(&rel); err != nil {
					return err
				}
				if rel.From == "SPDXRef-DOCUMENT" && rel.Type == "DESCRIBES" {
					described[rel.To] = true
				}
				return nil
			})
		case "spdxVersion":
			off := s.dec.InputOffset()
			if err := s.decode(&version); err != nil {
				return err
			}
			if version != "SPDX-2.3" {
				return s.errAt(off, fmt.Sprintf("SPDX version %q is not supported", version), "warroom reads SPDX-2.3 JSON; ask the tool for that version")
			}
			return nil
		case "packages":
			return s.array("packages", func() error {
				if n++; n%checkEvery == 0 {
					if err := ctxErr(ctx, name); err != nil {
						return err
					}
				}
				off := s.dec.InputOffset()
				var p spdxPackage
				if err := s.decode(&p); err != nil {
					return err
				}
				lic := effectiveLicense(p)
				line, col := s.pos.position(skipSpaceOffset(s, off))
				if err := checkExpression(lic); err != nil {
					return &Error{File: name, Line: line, Col: col,
						Msg:  fmt.Sprintf("package %q: licence expression %q: %v", p.Name, lic, err),
						Hint: "use SPDX licence identifiers joined by AND, OR, WITH and parentheses, or LicenseRef-<name> for others"}
				}
				rd.Packages = append(rd.Packages, Package{SPDXID: p.SPDXID, Name: p.Name, Version: p.VersionInfo, License: lic, Line: line})
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
	if version == "" {
		return nil, &Error{File: name, Line: 1, Col: 1, Msg: `not an SPDX document: "spdxVersion" is missing`, Hint: spdxHint}
	}
	for i := range rd.Packages {
		rd.Packages[i].Described = described[rd.Packages[i].SPDXID]
	}
	return rd, nil
}

// skipSpaceOffset moves an offset taken between tokens (before a comma
// and white space) to the first byte of the value that follows.
func skipSpaceOffset(s *jsonStream, off int64) int64 {
	start := s.pos.read - int64(len(s.pos.tail))
	for off >= start && off < s.pos.read {
		switch s.pos.tail[off-start] {
		case ' ', '\t', '\r', '\n', ',':
			off++
			continue
		}
		break
	}
	return off
}

func effectiveLicense(p spdxPackage) string {
	lic := strings.TrimSpace(p.LicenseConcluded)
	if lic == "" || lic == NoAssertion {
		if d := strings.TrimSpace(p.LicenseDeclared); d != "" {
			lic = d
		}
	}
	if lic == "" {
		lic = NoAssertion
	}
	return lic
}

// checkExpression parses a licence expression; NOASSERTION and NONE are
// valid values, not expressions.
func checkExpression(lic string) error {
	if lic == NoAssertion || lic == NoLicense {
		return nil
	}
	_, err := spdxexp.ExtractLicenses(lic)
	return err
}

// licenceAllowed reports whether an expression can be satisfied by the
// allow-list: "MIT OR GPL-3.0-only" is, with MIT allowed; "MIT AND
// GPL-3.0-only" is not. NOASSERTION and NONE only when allowed by name.
func licenceAllowed(lic string, allow []string) (bool, error) {
	if lic == NoAssertion || lic == NoLicense {
		for _, a := range allow {
			if a == lic {
				return true, nil
			}
		}
		return false, nil
	}
	var ids []string
	for _, a := range allow {
		if a != NoAssertion && a != NoLicense {
			ids = append(ids, a)
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	return spdxexp.Satisfies(lic, ids)
}
