package apidoc

import (
	"bytes"
	"fmt"
	"html/template"
	"strconv"
	"strings"

	"github.com/qconnect/qconnect"
	"github.com/qconnect/qconnect/protocol"
)

// pageView is the data of templates/index.html.tmpl.
type pageView struct {
	Title        string
	Protocol     bool // /connect/protocol.md is served
	Groups       []*groupView
	MethodCount  int
	Login        string // example LoginReq envelope, indented
	LoginResp    string
	Sign         signView
	StringToSign string     // the formula of PROTOCOL 3.1
	Demo         *DemoLogin // demo mode: shown next to the login box
	AsyncAPI     bool       // /connect/asyncapi.json is served (there are WebSocket methods)
}

// signView is the worked signing example of the "How to log in and sign"
// section, computed with package protocol so that it is right by
// construction.
type signView struct {
	Path, Username, SessionID, Body, BodyMD5, StringToSign, Signature, Authorization string
}

type groupView struct {
	Name, ID, Description string
	Methods               []*methodView
}

type methodView struct {
	Group, Name, Full, ID, Path, Description, ReqType string
	Streaming, Publish                                bool
	Params                                            []paramView
	Columns                                           []qconnect.Column
	Example                                           string // REST envelope or SubscribeReq frame, indented
	Execute                                           string // publish: the WebSocket ExecuteReq frame, indented
	Rows                                              string // publish: the Try-it rows, a JSON array one row per line
	CLI                                               string
	Fields                                            []fieldView
	Search                                            string // lower-case text the filter box matches
}

type paramView struct {
	Name, Type  string
	Required    bool
	Default     string // JSON form of 4.2
	DefaultDoc  string
	Constraints []string
	Description string
}

// fieldView is one input of a method's Try-it form. The script reads
// data-param, data-type, data-list and data-required from the element.
type fieldView struct {
	ID, Name, Type, TypeName string
	List, Required           bool
	Kind                     string // text, number, checkbox, select, textarea
	Value                    string
	Checked, Multiple, Unset bool // Unset: offer a "(not set)" option
	Options                  []optionView
	Step, Min, Max           string
	MaxLength                int
	Placeholder, Hint        string
	Relative                 string // start, end or day: the script prefills relative to now
}

type optionView struct {
	Value, Label string
	Selected     bool
}

const stringToSignFormula = `stringToSign = VERB + "\n" + PATH + "\n" + USERNAME + "\n" + BODY_MD5 + "\n"
             + CONTENT_TYPE + "\n" + DATE + "\n" + SESSION_ID
signature    = Base64( HMAC-SHA1( key = SESSION_ID, data = stringToSign ) )
Authorization: USERNAME + last 5 characters of SESSION_ID + ":" + signature`

// renderPage renders the documentation page of cat.
func renderPage(cat *qconnect.Catalog, opts Options) ([]byte, error) {
	tmpl, err := template.New("index").Parse(pageTemplate)
	if err != nil {
		return nil, fmt.Errorf("apidoc: parsing the page template: %w", err)
	}
	v := &pageView{Title: opts.Title, Protocol: opts.ProtocolDoc != nil, StringToSign: stringToSignFormula, Demo: opts.Demo, AsyncAPI: true}
	w, login := windowAt(opts.Now), cliLogin(opts)
	byGroup := map[string]*groupView{}
	var signed *methodView
	var signedBody []byte
	for _, m := range cat.Methods {
		mv, body, err := methodPage(m, w, login)
		if err != nil {
			return nil, err
		}
		g := byGroup[m.Group]
		if g == nil {
			g = &groupView{Name: m.Group, ID: "g-" + m.Group, Description: cat.GroupDescription(m.Group)}
			byGroup[m.Group] = g
			v.Groups = append(v.Groups, g)
		}
		g.Methods = append(g.Methods, mv)
		v.MethodCount++
		if signed == nil && !m.Streaming {
			signed, signedBody = mv, body
		}
	}
	v.Login = `{"type":"LoginReq","id":"` + exampleID + `",
 "date":"` + exampleDate + `",
 "msg":[{"username":"` + exampleUser + `","password":"12345678"}]}`
	v.LoginResp = `{"type":"LoginResp","id":"` + exampleID + `","date":"` + exampleDate + `",
 "success":true,
 "msg":[{"sessionId":"` + exampleSession + `","username":"` + exampleUser + `",
         "idleTimeout":1800,"expires":"Sat, 27 Jul 2019 04:59:00 GMT"}]}`
	path := "/connect/api/auth/logout"
	if signed != nil {
		path = signed.Path
	} else {
		signedBody, err = marshal(obj("type", "LogoutReq", "id", exampleID, "date", exampleDate, "msg", []any{}), false)
		if err != nil {
			return nil, err
		}
	}
	in := protocol.SignInput{Verb: "POST", Path: path, Username: exampleUser,
		BodyMD5: protocol.BodyMD5(signedBody), ContentType: contentType, Date: exampleDate}
	sig := protocol.Sign(in, exampleSession)
	v.Sign = signView{Path: path, Username: exampleUser, SessionID: exampleSession, Body: string(signedBody),
		BodyMD5: in.BodyMD5, StringToSign: protocol.StringToSign(in, exampleSession), Signature: sig,
		Authorization: protocol.Authorization(exampleUser, exampleSession, sig)}

	var b bytes.Buffer
	if err := tmpl.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("apidoc: rendering the page: %w", err)
	}
	return b.Bytes(), nil
}

// methodPage builds the view of one method and returns its compact example
// request body.
func methodPage(m *qconnect.Method, w exampleWindow, login string) (*methodView, []byte, error) {
	ex, err := exampleParamsIn(m, w)
	if err != nil {
		return nil, nil, fmt.Errorf("apidoc: %w", err)
	}
	mv := &methodView{Group: m.Group, Name: m.Name, Full: m.FullName(), ID: "m-" + m.Group + "-" + m.Name,
		Path: m.Path(), Description: strings.TrimSpace(m.Description), ReqType: requestType(m),
		Streaming: m.Streaming, Publish: m.Publish, Columns: m.Columns,
		Search: strings.ToLower(m.FullName() + " " + m.Description)}
	for _, p := range m.Params {
		pv, err := paramPage(m, p)
		if err != nil {
			return nil, nil, err
		}
		mv.Params = append(mv.Params, pv)
		exv, _ := ex.get(p.Name)
		mv.Fields = append(mv.Fields, field(mv.ID, p, exv))
	}
	if m.Publish {
		return publishPage(m, mv, login)
	}
	var env *object
	if m.Streaming {
		env = subscribeFrame(m, ex)
	} else {
		env = exampleEnvelope(m, ex)
	}
	if mv.Example, err = prettyEnvelope(env); err != nil {
		return nil, nil, err
	}
	compact, err := marshal(env, false)
	if err != nil {
		return nil, nil, err
	}
	if mv.CLI, err = commandLine(m, ex, login); err != nil {
		return nil, nil, err
	}
	return mv, compact, nil
}

// publishPage completes the view of a publishing method: the rows envelope,
// the WebSocket ExecuteReq frame, the qconnect publish command line and the
// Try-it rows. It returns the compact example request body.
func publishPage(m *qconnect.Method, mv *methodView, login string) (*methodView, []byte, error) {
	rows, err := exampleRows(m)
	if err != nil {
		return nil, nil, fmt.Errorf("apidoc: %w", err)
	}
	if mv.Example, err = prettyRows(publishEnvelope, m, rows); err != nil {
		return nil, nil, err
	}
	if mv.Execute, err = prettyRows(executeFrame, m, rows); err != nil {
		return nil, nil, err
	}
	if mv.Rows, err = rowsText(rows, ""); err != nil {
		return nil, nil, err
	}
	mv.CLI = publishCommandLine(m, login)
	compact, err := marshal(publishEnvelope(m, rows), false)
	if err != nil {
		return nil, nil, err
	}
	return mv, compact, nil
}

func paramPage(m *qconnect.Method, p qconnect.Param) (paramView, error) {
	pv := paramView{Name: p.Name, Type: p.TypeName(), Required: p.Required, DefaultDoc: p.DefaultDoc,
		Description: strings.TrimSpace(p.Description)}
	if p.Default != nil {
		v, err := paramJSON(p, p.Default)
		if err != nil {
			return pv, fmt.Errorf("apidoc: %s: parameter %q of %s: default %w; fix the catalog declaration", m.Pos, p.Name, m.FullName(), err)
		}
		b, err := marshal(v, false)
		if err != nil {
			return pv, err
		}
		pv.Default = string(b)
	}
	if len(p.Enum) > 0 {
		pv.Constraints = append(pv.Constraints, "one of "+strings.Join(p.Enum, ", "))
	}
	if p.Type == qconnect.Timespan {
		if b := spanBounds(p); b != "" {
			pv.Constraints = append(pv.Constraints, b)
		}
	} else {
		if p.Min != nil {
			pv.Constraints = append(pv.Constraints, "min "+strconv.FormatFloat(*p.Min, 'f', -1, 64))
		}
		if p.Max != nil {
			pv.Constraints = append(pv.Constraints, "max "+strconv.FormatFloat(*p.Max, 'f', -1, 64))
		}
	}
	if p.MaxLen > 0 {
		what := "characters"
		if p.List {
			what = "items"
		}
		pv.Constraints = append(pv.Constraints, fmt.Sprintf("at most %d %s", p.MaxLen, what))
	}
	return pv, nil
}

// field builds the Try-it input of p, prefilled with its example value ex
// (nil when the example leaves p out). An optional parameter whose default
// the server computes ("one hour before end") starts empty: that default is
// the sensible first call, while a fixed example date would likely find no
// data. Timestamps and dates without any default are prefilled by the
// script relative to the browser's clock.
func field(methodID string, p qconnect.Param, ex any) fieldView {
	if !p.Required && p.Default == nil && p.DefaultDoc != "" {
		ex = nil
	}
	f := fieldView{ID: "f-" + strings.TrimPrefix(methodID, "m-") + "-" + p.Name, Name: p.Name,
		Type: string(p.Type), TypeName: p.TypeName(), List: p.List, Required: p.Required,
		Kind: "text", Value: textOf(ex)}
	if p.DefaultDoc != "" {
		f.Placeholder = "default: " + p.DefaultDoc
	}
	switch {
	case len(p.Enum) > 0:
		f.Kind, f.Multiple, f.Unset = "select", p.List, !p.List && !p.Required
		chosen := map[string]bool{}
		switch x := ex.(type) {
		case string:
			chosen[x] = true
		case []any:
			for _, e := range x {
				chosen[textOf(e)] = true
			}
		}
		for _, e := range p.Enum {
			f.Options = append(f.Options, optionView{Value: e, Label: e, Selected: chosen[e]})
		}
	case p.Type == qconnect.Boolean && !p.List && (p.Required || p.Default != nil):
		f.Kind, f.Checked = "checkbox", ex == true
	case p.Type == qconnect.Boolean && !p.List:
		// An optional boolean without default has three states: not sent,
		// true, false; a checkbox could not say "not sent".
		f.Kind, f.Unset = "select", true
		for _, o := range []string{"true", "false"} {
			f.Options = append(f.Options, optionView{Value: o, Label: o})
		}
	case (p.Type == qconnect.Long || p.Type == qconnect.Float) && !p.List:
		f.Kind, f.Step = "number", "1"
		if p.Type == qconnect.Float {
			f.Step = "any"
		}
		if p.Min != nil {
			f.Min = strconv.FormatFloat(*p.Min, 'f', -1, 64)
		}
		if p.Max != nil {
			f.Max = strconv.FormatFloat(*p.Max, 'f', -1, 64)
		}
	case p.Type == qconnect.Dict:
		f.Kind = "textarea"
		if f.Value == "" && p.Required {
			f.Value = "{}"
		}
		f.Hint = "a JSON object"
	default:
		if !p.List && p.MaxLen > 0 {
			f.MaxLength = p.MaxLen
		}
		if p.Default == nil && ex != nil {
			switch p.Type {
			case qconnect.Timestamp:
				f.Relative = "start"
				if endLike.MatchString(p.Name) {
					f.Relative = "end"
				}
			case qconnect.Date:
				f.Relative = "day"
			}
		}
		if f.Placeholder == "" {
			f.Placeholder = placeholderOf(p.Type)
		} else if e := placeholderOf(p.Type); e != "" && (p.Type == qconnect.Timestamp || p.Type == qconnect.Date) {
			f.Hint = "e.g. " + e
		}
	}
	if p.List && f.Kind == "text" {
		f.Hint = strings.TrimPrefix(f.Hint+"; comma-separated", "; ")
	}
	if f.Multiple {
		f.Hint = "Ctrl-click to choose several; none = not sent"
	}
	return f
}

// placeholderOf shows the expected form of a text input.
func placeholderOf(t qconnect.Type) string {
	switch t {
	case qconnect.Timestamp:
		return exampleStart
	case qconnect.Date:
		return exampleDay
	case qconnect.Timespan:
		return "5m, 1h30m or PT1H30M"
	case qconnect.Long:
		return "integer"
	case qconnect.Float:
		return "number"
	case qconnect.Boolean:
		return "true or false"
	}
	return ""
}

// textOf is the text form of an example JSON value in a form input; lists
// are comma-separated.
func textOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = textOf(e)
		}
		return strings.Join(parts, ", ")
	}
	b, _ := marshal(v, false)
	return string(b)
}
