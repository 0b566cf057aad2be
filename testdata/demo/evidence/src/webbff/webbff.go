// Package webbff stands in for the web backend-for-frontend: it merges the
// product page's parts from the services behind it.
package webbff

import (
	"fmt"
	"strings"
)

// Part is one service's contribution to a page.
type Part struct {
	Service string
	HTML    string
	Err     error
}

// Page assembles a product page; optional parts that failed are left out,
// a required one that failed fails the page.
func Page(parts []Part, required map[string]bool) (string, error) {
	var b strings.Builder
	for _, p := range parts {
		if p.Err != nil {
			if required[p.Service] {
				return "", fmt.Errorf("%s: %w", p.Service, p.Err)
			}
			continue
		}
		b.WriteString(p.HTML)
	}
	return b.String(), nil
}
