// Package graph is the Microsoft Entra ID directory on msgraph-sdk-go: user lookup, group and
// role membership, password reset and session revocation. It is the only package besides main
// that imports the Graph SDK.
package graph
