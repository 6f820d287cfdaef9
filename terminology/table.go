package terminology

import (
	_ "embed"
	"strconv"
	"strings"
)

// tableText is the table, kept as data (table.txt) so that a reviewer can
// check it line by line against its sources.
//
//go:embed table.txt
var tableText string

var table = parseTable(tableText)

var systems = map[string]string{"LOINC": SystemLOINC, "CVX": SystemCVX, "SNOMED": SystemSNOMED}

// parseTable reads table.txt. The table is part of the program: a
// malformed line is a build mistake and panics at start-up (the package
// tests read every line).
func parseTable(text string) []Concept {
	var out []Concept
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "|")
		system := systems[f[0]]
		if len(f) != 4 || system == "" || f[1] == "" || f[3] == "" ||
			(system == SystemCVX && NormalizeCVX(f[1]) != f[1]) {
			panic("terminology: table.txt line " + strconv.Itoa(n+1) + ": " + line)
		}
		c := Concept{System: system, Code: f[1], Display: f[3]}
		if f[2] != "" {
			for _, g := range strings.Split(f[2], ",") {
				c.Groups = append(c.Groups, Group(g))
			}
		}
		out = append(out, c)
	}
	return out
}
