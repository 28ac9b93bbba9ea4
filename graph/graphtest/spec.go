package graphtest

import (
	"embed"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"slices"
	"strings"
)

// The committed extracts of Microsoft's published API description (see spec/NOTICE): every Graph
// request the fake answers must be one of these operations, as the reference states it.
//
//go:embed spec/operations.json spec/v1.0-Prod.trimmed.csdl
var specFS embed.FS

// Operation is one Graph operation of the extract: what its API reference page says.
type Operation struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   []string          `json:"query"`   // OData query options the page lists
	Headers map[string]string `json:"headers"` // required request headers (value prefix)
	// Least is the least privileged application permission; Higher the others that also grant it.
	Least  string   `json:"least"`
	Higher []string `json:"higher"`
	// AlsoNeeds is a second permission the call needs for the properties the bot reads.
	AlsoNeeds string `json:"alsoNeeds"`
	// Roles are directory roles of which the app's service principal needs one;
	// PrivilegedTargetRoles those needed when the target user holds an admin role.
	Roles                 []string `json:"roles"`
	PrivilegedTargetRoles []string `json:"privilegedTargetRoles"`
	Advanced              bool     `json:"advanced"` // needs ConsistencyLevel: eventual and $count=true
	Licence               string   `json:"licence"`
	Page                  string   `json:"page"`
	Note                  string   `json:"note"`
}

// Permits reports whether the granted application permissions allow the operation.
func (o Operation) Permits(granted []string) bool {
	ok := slices.Contains(granted, o.Least) || slices.ContainsFunc(o.Higher, func(p string) bool { return slices.Contains(granted, p) })
	return ok && (o.AlsoNeeds == "" || slices.Contains(granted, o.AlsoNeeds))
}

var operations = func() []Operation {
	b, err := specFS.ReadFile("spec/operations.json")
	if err != nil {
		panic(err)
	}
	var doc struct {
		Operations []Operation `json:"operations"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		panic(err)
	}
	return doc.Operations
}()

// Operations returns the extract's operations.
func Operations() []Operation { return slices.Clone(operations) }

// LeastPermissions lists every application permission the extract's operations need (the least
// privileged of each, plus what some need besides): what a fully set up app registration grants.
func LeastPermissions() []string {
	var out []string
	for _, o := range operations {
		for _, p := range []string{o.Least, o.AlsoNeeds} {
			if p != "" && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// match finds the operation of a request path (below /v1.0) and method.
func match(method, path string) (Operation, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, o := range operations {
		if o.Method != method {
			continue
		}
		tpl := strings.Split(strings.Trim(o.Path, "/"), "/")
		if len(tpl) != len(segs) {
			continue
		}
		ok := true
		for i, t := range tpl {
			switch {
			case strings.HasPrefix(t, "{"):
				ok = ok && segs[i] != ""
			case strings.HasPrefix(t, "microsoft.graph."):
				// a type cast, by namespace or by the schema's alias "graph"
				ok = ok && (segs[i] == t || segs[i] == "graph."+strings.TrimPrefix(t, "microsoft.graph."))
			default:
				ok = ok && segs[i] == t
			}
		}
		if ok {
			return o, true
		}
	}
	return Operation{}, false
}

// csdl is the part of the trimmed CSDL the path check reads.
type csdl struct {
	Schema struct {
		EntityTypes []struct {
			Name     string `xml:"Name,attr"`
			BaseType string `xml:"BaseType,attr"`
			Navs     []struct {
				Name string `xml:"Name,attr"`
				Type string `xml:"Type,attr"`
			} `xml:"NavigationProperty"`
		} `xml:"EntityType"`
		Actions []struct {
			Name   string `xml:"Name,attr"`
			Params []struct {
				Name string `xml:"Name,attr"`
				Type string `xml:"Type,attr"`
			} `xml:"Parameter"`
		} `xml:"Action"`
		Container struct {
			Sets []struct {
				Name string `xml:"Name,attr"`
				Type string `xml:"EntityType,attr"`
			} `xml:"EntitySet"`
			Singletons []struct {
				Name string `xml:"Name,attr"`
				Type string `xml:"Type,attr"`
			} `xml:"Singleton"`
		} `xml:"EntityContainer"`
	} `xml:"DataServices>Schema"`
}

var schema = func() csdl {
	b, err := specFS.ReadFile("spec/v1.0-Prod.trimmed.csdl")
	if err != nil {
		panic(err)
	}
	var c csdl
	if err := xml.Unmarshal(b, &c); err != nil {
		panic(err)
	}
	return c
}()

// short strips the namespace or alias from a type name.
func short(t string) string {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "Collection("), ")")
	return t[strings.LastIndex(t, ".")+1:]
}

// ResolvePath checks an operation's path template against the CSDL: an entity set or singleton,
// keys on collections, navigation properties of the type reached (or its base types), casts to a
// type derived from the collection's, and a bound action of the type as the last segment.
func ResolvePath(path string) error {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var typ string
	var coll bool
	for _, s := range schema.Schema.Container.Sets {
		if s.Name == segs[0] {
			typ, coll = short(s.Type), true
		}
	}
	for _, s := range schema.Schema.Container.Singletons {
		if s.Name == segs[0] {
			typ = short(s.Type)
		}
	}
	if typ == "" {
		return fmt.Errorf("%s: no entity set or singleton %q", path, segs[0])
	}
	for i := 1; i < len(segs); i++ {
		seg := segs[i]
		switch {
		case coll && strings.HasPrefix(seg, "{"):
			coll = false
		case coll && strings.HasPrefix(seg, "microsoft.graph."):
			cast := short(seg)
			if !derives(cast, typ) {
				return fmt.Errorf("%s: %s does not derive from %s", path, cast, typ)
			}
			typ = cast
		case !coll && i == len(segs)-1 && boundAction(seg, typ):
			return nil
		case !coll:
			nt, ok := nav(typ, seg)
			if !ok {
				return fmt.Errorf("%s: %s has no navigation property %q", path, typ, seg)
			}
			typ, coll = short(nt), strings.HasPrefix(nt, "Collection(")
		default:
			return fmt.Errorf("%s: unexpected segment %q", path, seg)
		}
	}
	return nil
}

func baseOf(t string) string {
	for _, e := range schema.Schema.EntityTypes {
		if e.Name == t && e.BaseType != "" {
			return short(e.BaseType)
		}
	}
	return ""
}

func derives(t, from string) bool {
	for ; t != ""; t = baseOf(t) {
		if t == from {
			return true
		}
	}
	return false
}

func nav(t, name string) (string, bool) {
	for ; t != ""; t = baseOf(t) {
		for _, e := range schema.Schema.EntityTypes {
			if e.Name != t {
				continue
			}
			for _, n := range e.Navs {
				if n.Name == name {
					return n.Type, true
				}
			}
		}
	}
	return "", false
}

func boundAction(name, t string) bool {
	for _, a := range schema.Schema.Actions {
		if a.Name == name && len(a.Params) > 0 && derives(t, short(a.Params[0].Type)) {
			return true
		}
	}
	return false
}
