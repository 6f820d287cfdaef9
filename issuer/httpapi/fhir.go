package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/healthcards/healthcards/issuer"
	"github.com/healthcards/healthcards/issuer/authz"
)

// OperationDefinitionURL is the canonical $health-cards-issue definition (OP-3).
const OperationDefinitionURL = "http://hl7.org/fhir/uv/smart-health-cards-and-links/OperationDefinition/patient-i-health-cards-issue"

const fhirJSON = "application/fhir+json"

// smartConfiguration advertises "health-cards" (OP-1) and the authorization
// server: with the built-in one (issuer/oauth) every endpoint and
// capability it has and nothing else; with an external one the endpoints
// configured for it.
func (s *server) smartConfiguration(c *echo.Context) error {
	cors(c)
	sc := s.cfg.SMART
	if m := sc.Builtin; m != nil {
		return c.JSON(http.StatusOK, map[string]any{
			"issuer":                                m.Issuer,
			"authorization_endpoint":                m.AuthorizationEndpoint,
			"token_endpoint":                        m.TokenEndpoint,
			"revocation_endpoint":                   m.RevocationEndpoint,
			"introspection_endpoint":                m.IntrospectionEndpoint,
			"userinfo_endpoint":                     m.UserinfoEndpoint,
			"management_endpoint":                   m.ManagementEndpoint,
			"jwks_uri":                              m.JWKSURI,
			"grant_types_supported":                 m.GrantTypes,
			"response_types_supported":              m.ResponseTypes,
			"scopes_supported":                      m.Scopes,
			"code_challenge_methods_supported":      m.CodeChallengeMethods,
			"token_endpoint_auth_methods_supported": m.TokenEndpointAuthMethods,
			"capabilities":                          append([]string{"health-cards"}, m.Capabilities...),
			"authorization_details_types_supported": []string{authz.DetailType},
		})
	}
	doc := map[string]any{
		"capabilities": []string{"health-cards", "launch-standalone", "context-standalone-patient", "client-public",
			"client-confidential-symmetric", "permission-patient", "permission-v1", "permission-v2"},
		"scopes_supported": []string{"launch/patient", "openid", "fhirUser", "patient/Immunization.read", "patient/Observation.read",
			"patient/DiagnosticReport.read", "patient/*.read", "patient/Immunization.rs", "patient/Observation.rs", "patient/*.rs"},
		"response_types_supported":         []string{"code"},
		"grant_types_supported":            []string{"authorization_code"},
		"code_challenge_methods_supported": []string{"S256"},
	}
	if sc.Issuer != "" {
		doc["issuer"] = sc.Issuer
	}
	if sc.AuthorizationEndpoint != "" {
		doc["authorization_endpoint"] = sc.AuthorizationEndpoint
	}
	if sc.TokenEndpoint != "" {
		doc["token_endpoint"] = sc.TokenEndpoint
	}
	if sc.JWKSURI != "" {
		doc["jwks_uri"] = sc.JWKSURI
	}
	return c.JSON(http.StatusOK, doc)
}

// capabilityStatement declares the $health-cards-issue operation on Patient.
func (s *server) capabilityStatement(c *echo.Context) error {
	cors(c)
	security := map[string]any{
		"service": []any{map[string]any{"coding": []any{map[string]string{
			"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}}}},
	}
	authorize, token := s.cfg.SMART.AuthorizationEndpoint, s.cfg.SMART.TokenEndpoint
	if m := s.cfg.SMART.Builtin; m != nil {
		authorize, token = m.AuthorizationEndpoint, m.TokenEndpoint
	}
	if authorize != "" || token != "" {
		var ext []any
		if authorize != "" {
			ext = append(ext, map[string]string{"url": "authorize", "valueUri": authorize})
		}
		if token != "" {
			ext = append(ext, map[string]string{"url": "token", "valueUri": token})
		}
		if m := s.cfg.SMART.Builtin; m != nil {
			ext = append(ext, map[string]string{"url": "revoke", "valueUri": m.RevocationEndpoint},
				map[string]string{"url": "introspect", "valueUri": m.IntrospectionEndpoint})
		}
		security["extension"] = []any{map[string]any{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris", "extension": ext}}
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-03-01",
		"kind":         "instance",
		"software":     map[string]string{"name": "shc-issuer"},
		"implementation": map[string]string{
			"description": "SMART Health Cards issuer", "url": s.fhir,
		},
		"fhirVersion": "4.0.1",
		"format":      []string{"json"},
		"rest": []any{map[string]any{
			"mode":     "server",
			"security": security,
			"resource": []any{map[string]any{
				"type": "Patient",
				"operation": []any{map[string]string{
					"name": "health-cards-issue", "definition": OperationDefinitionURL,
				}},
			}},
		}},
	}
	return jsonAs(c, http.StatusOK, fhirJSON, cs)
}

// healthCardsIssue is POST /fhir/Patient/{id}/$health-cards-issue (OP-3..11).
// It needs a SMART access token; the decision point (issuer/authz) decides
// from the policies, the token's principal, scopes and
// authorization_details and the patient's relations, and filters the
// cards. When the token's permissions leave no card although the patient
// has some, the answer is a 403 OperationOutcome that says which type or
// scope was missing, never a silent empty result; sensitive results
// withheld are never mentioned.
func (s *server) healthCardsIssue(c *echo.Context) error {
	p, err := s.principal(c)
	if err != nil {
		return err
	}
	id := c.Param("id")
	if p.Kind != "jwt" {
		return forbidden("$health-cards-issue needs a SMART on FHIR access token")
	}
	body, err := s.readBody(c, 64<<10)
	if err != nil {
		return err
	}
	params, err := issuer.ParseParameters(body)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	d := s.authz.Authorize(ctx, p, authz.ActionIssue, authz.Target{Patient: id, CredentialTypes: params.CredentialTypes})
	if !d.Allow {
		return denied(d)
	}
	out, cards, err := s.is.HealthCardsIssue(ctx, s.src, id, params, issuer.OperationOptions{Actor: p.Actor(), Filter: d.Filter()})
	if rerr := s.authz.Record(ctx, d); rerr != nil {
		s.log.Error("audit of an authorization decision failed", "err", rerr.Error())
	}
	if err != nil {
		return err
	}
	if len(cards) == 0 {
		if msg, ok := d.Explain(); ok {
			return forbidden(msg)
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return jsonAs(c, http.StatusOK, fhirJSON, out)
}
