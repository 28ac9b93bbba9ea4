// Package teams is the Microsoft Teams adapter: the Bot Framework protocol by hand (inbound
// token validation, activities, Adaptive Cards, proactive messages), since there is no
// maintained Go SDK.
package teams
