package flows

import (
	"fmt"
	"strings"
)

// MsgID is the stable id of a catalog message.
type MsgID string

// The catalog's message ids.
const (
	MsgHelp          MsgID = "help"
	MsgHelpdesk      MsgID = "helpdesk"
	MsgNotUnderstood MsgID = "not_understood"
	MsgBadInput      MsgID = "bad_input"
	MsgMustRegister  MsgID = "must_register"
	// MsgLockedUnregistered: locked out in AD and not registered; registering needs the AD
	// password, which a locked account cannot prove, so the only way on is the helpdesk.
	MsgLockedUnregistered MsgID = "locked_unregistered"
	// MsgSlowDown: a chat adapter refused messages beyond a person's small queue.
	MsgSlowDown          MsgID = "slow_down"
	MsgChooseMethod      MsgID = "choose_method"
	MsgEnterTOTP         MsgID = "enter_totp"
	MsgEmailSent         MsgID = "email_sent"
	MsgCodeWrong         MsgID = "code_wrong"
	MsgCodeExpired       MsgID = "code_expired"
	MsgBlocked           MsgID = "blocked"
	MsgTooManyCodes      MsgID = "too_many_codes"
	MsgProvenMore        MsgID = "proven_more"
	MsgResetLink         MsgID = "reset_link"
	MsgUnlockIsReset     MsgID = "unlock_is_reset"
	MsgUnlocked          MsgID = "unlocked"
	MsgUnlockedResetToo  MsgID = "unlocked_reset_too"
	MsgNotLocked         MsgID = "not_locked"
	MsgLockedAlert       MsgID = "locked_alert"
	MsgRegisterLink      MsgID = "register_link"
	MsgCancelled         MsgID = "cancelled"
	MsgNothingToCancel   MsgID = "nothing_to_cancel"
	MsgStatusIdle        MsgID = "status_idle"
	MsgStatusSession     MsgID = "status_session"
	MsgExpired           MsgID = "expired"
	MsgStaleButton       MsgID = "stale_button"
	MsgBusy              MsgID = "busy"
	MsgTrouble           MsgID = "trouble"
	MsgPasswordChanged   MsgID = "password_changed"
	MsgRegistered        MsgID = "registered"
	MsgUseButtons        MsgID = "use_buttons"
	MsgNoSecretsHere     MsgID = "no_secrets_here"
	MsgNotAdmin          MsgID = "not_admin"
	MsgAdminSoon         MsgID = "admin_soon"
	MsgPlatformRefused   MsgID = "platform_refused"
	MsgWorking           MsgID = "working"
	MsgSMSSent           MsgID = "sms_sent"
	MsgCallPlaced        MsgID = "call_placed"
	MsgPhoneBudget       MsgID = "phone_budget"
	MsgQuestionsLink     MsgID = "questions_link"
	MsgAnswersWrong      MsgID = "answers_wrong"
	MsgReconfirmDue      MsgID = "reconfirm_due"
	MsgAdmin             MsgID = "admin"
	MsgReminder          MsgID = "reminder"
	MsgReminderReconfirm MsgID = "reminder_reconfirm"
	MsgSnoozed           MsgID = "snoozed"
	MsgSnoozeLimit       MsgID = "snooze_limit"
	MsgNotMe             MsgID = "not_me"
	MsgGreeting          MsgID = "greeting"
	MsgPasswordTyped     MsgID = "password_typed"
	MsgRegisteredShort   MsgID = "registered_short"
	MsgNothingYet        MsgID = "nothing_yet"
	MsgChooseUnlock      MsgID = "choose_unlock"
	MsgProofOne          MsgID = "proof_one"
	MsgProofMany         MsgID = "proof_many"
	MsgStatusRegistered  MsgID = "status_registered"
	MsgStatusNothing     MsgID = "status_nothing"
	MsgStepChoose        MsgID = "step_choose"
	MsgStepCode          MsgID = "step_code"
	MsgStepQuestions     MsgID = "step_questions"
	MsgStepResetLink     MsgID = "step_reset_link"
	MsgStepRegisterLink  MsgID = "step_register_link"
	MsgStepAdminLink     MsgID = "step_admin_link"
	MsgStepNone          MsgID = "step_none"
	MsgDoReset           MsgID = "do_reset"
	MsgDoUnlock          MsgID = "do_unlock"
	MsgCodeUsed          MsgID = "code_used"
	MsgTriesLeft         MsgID = "tries_left"
	MsgTryLeft           MsgID = "try_left"
	MsgBlockedUntil      MsgID = "blocked_until"
	MsgOrAnother         MsgID = "or_another"
	MsgChooseMethodAgain MsgID = "choose_method_again"
	MsgNothingToResend   MsgID = "nothing_to_resend"
	MsgTOTPNotSent       MsgID = "totp_not_sent"
	MsgThanks            MsgID = "thanks"
	MsgPasskeyLink       MsgID = "passkey_link"
	MsgPasskeyWrong      MsgID = "passkey_wrong"
	MsgStepPasskey       MsgID = "step_passkey"

	// helpdesk caller verification (flows/helpdesk.go)
	MsgNotHelpdesk         MsgID = "not_helpdesk"
	MsgHelpdeskUsage       MsgID = "helpdesk_usage"
	MsgHelpdeskNoUser      MsgID = "helpdesk_no_user"
	MsgHelpdeskSelf        MsgID = "helpdesk_self"
	MsgHelpdeskDisabled    MsgID = "helpdesk_disabled"
	MsgHelpdeskLimit       MsgID = "helpdesk_limit"
	MsgHelpdeskNumber      MsgID = "helpdesk_number"
	MsgHelpdeskAsk         MsgID = "helpdesk_ask"
	MsgHelpdeskNotOnCall   MsgID = "helpdesk_not_on_call"
	MsgHelpdeskNoCode      MsgID = "helpdesk_no_code"
	MsgHelpdeskCodeDone    MsgID = "helpdesk_code_done"
	MsgHelpdeskCodeAsked   MsgID = "helpdesk_code_asked"
	MsgHelpdeskReadBack    MsgID = "helpdesk_read_back"
	MsgHelpdeskNoAsk       MsgID = "helpdesk_no_ask"
	MsgHelpdeskNotVerified MsgID = "helpdesk_not_verified"
	MsgHelpdeskVerified    MsgID = "helpdesk_verified"
	MsgHelpdeskByNumber    MsgID = "helpdesk_by_number"
	MsgHelpdeskByCode      MsgID = "helpdesk_by_code"
	MsgHelpdeskAnd         MsgID = "helpdesk_and"
	MsgHelpdeskTimedOut    MsgID = "helpdesk_timed_out"
	MsgHelpdeskOver        MsgID = "helpdesk_over"
	MsgHelpdeskNotMe       MsgID = "helpdesk_not_me"
	MsgHelpdeskAdminAlert  MsgID = "helpdesk_admin_alert"
	MsgHelpdeskWrongNumber MsgID = "helpdesk_wrong_number"
	MsgHelpdeskMatched     MsgID = "helpdesk_matched"
	// the optional reset link after a verification (flows/helpdesk_link.go)
	MsgHelpdeskLinkPrivileged MsgID = "helpdesk_link_privileged"
	MsgHelpdeskLinkNeedsCodes MsgID = "helpdesk_link_needs_codes"
	MsgHelpdeskLinkRefused    MsgID = "helpdesk_link_refused"
	MsgHelpdeskLinkSent       MsgID = "helpdesk_link_sent"
	MsgHelpdeskResetLink      MsgID = "helpdesk_reset_link"

	// password expiry reminders and the change page (flows/expiry.go)
	MsgExpiryReminder  MsgID = "expiry_reminder"
	MsgExpiryChangeNow MsgID = "expiry_change_now"
	// MsgExpiryReminderOnly: the reminder of someone the bot cannot help change it
	MsgExpiryReminderOnly MsgID = "expiry_reminder_only"
	MsgExpiryToday        MsgID = "expiry_today"
	MsgExpiryTomorrow     MsgID = "expiry_tomorrow"
	MsgExpiryInDays       MsgID = "expiry_in_days"
	MsgChangeLink         MsgID = "change_link"
	MsgStepChangeLink     MsgID = "step_change_link"
	// the bot admins' report line
	MsgReportExpiry            MsgID = "report_expiry"
	MsgReportExpiryUnavailable MsgID = "report_expiry_unavailable"

	// The web recovery page (PUBLIC_BASE_URL/recover) and the pointers to it.
	MsgRecoverHint         MsgID = "recover_hint"
	MsgRecoverTitle        MsgID = "recover_title"
	MsgRecoverIntro        MsgID = "recover_intro"
	MsgRecoverName         MsgID = "recover_name"
	MsgRecoverWhat         MsgID = "recover_what"
	MsgRecoverAnswersWrong MsgID = "recover_answers_wrong"
	MsgRecoverForgot       MsgID = "recover_forgot"
	MsgRecoverLocked       MsgID = "recover_locked"
	MsgRecoverFirst        MsgID = "recover_first"
	MsgRecoverAppCode      MsgID = "recover_app_code"
	MsgRecoverCheck        MsgID = "recover_check"
	MsgRecoverSendEmail    MsgID = "recover_send_email"
	MsgRecoverSendPhone    MsgID = "recover_send_phone"
	MsgRecoverSentEmail    MsgID = "recover_sent_email"
	MsgRecoverSentPhone    MsgID = "recover_sent_phone"
	MsgRecoverCode         MsgID = "recover_code"
	MsgRecoverRefused      MsgID = "recover_refused"
	MsgRecoverMore         MsgID = "recover_more"
	MsgRecoverUse          MsgID = "recover_use"
	MsgRecoverAwait        MsgID = "recover_await"
	MsgRecoverLimit        MsgID = "recover_limit"
	MsgRecoverSlow         MsgID = "recover_slow"
	MsgRecoverBusy         MsgID = "recover_busy"
	MsgRecoverStartOver    MsgID = "recover_start_over"
	MsgRecoverAgain        MsgID = "recover_again"
	MsgRecoverContinue     MsgID = "recover_continue"
	MsgRecoverWorking      MsgID = "recover_working"
	MsgRecoverNoScript     MsgID = "recover_no_script"
	MsgRecoverTrouble      MsgID = "recover_trouble"
)

var catalog = map[string]map[MsgID]string{
	"en": {
		MsgHelp: "I can help you get back into your account without calling the helpdesk.\n" +
			"• \"I'm locked out\" or \"forgot my password\": prove it's you, then choose a new password.\n" +
			"• \"register\": set up the ways I can check it's you (an authenticator app, an email address).\n" +
			"• \"status\": what is registered and where we are.\n" +
			"• \"cancel\": stop what we are doing.\n" +
			"I never ask for passwords, email addresses or phone numbers in chat: you enter those only on my one-time web pages.",
		MsgHelpdesk:            "Sorry, I can't help with this account in chat. Please contact the helpdesk: %s",
		MsgNotUnderstood:       "Sorry, I'm not sure what you mean. Did you mean \"%s\"? Type \"help\" to see everything I can do.",
		MsgCodeUsed:            "That code was already used. Wait for your authenticator app to show the next one (it changes every 30 seconds), then type the new code.",
		MsgTriesLeft:           "You have %d tries left before self-service is paused for this account.",
		MsgTryLeft:             "You have 1 try left before self-service is paused for this account.",
		MsgBlockedUntil:        "Too many wrong answers, so self-service is paused for this account until %s. If you need to get in before then, contact the helpdesk: %s",
		MsgChooseMethodAgain:   "Please choose one of these methods (type its number or name):",
		MsgOrAnother:           "If it doesn't arrive, choose another method:",
		MsgNothingToResend:     "There's no code on its way right now. Say \"I'm locked out\" or \"forgot my password\" to start.",
		MsgTOTPNotSent:         "Authenticator codes aren't sent: open your authenticator app and type the code it shows now. Or choose another method:",
		MsgPasswordTyped:       "Please don't type passwords here; if that was your password, change it. I didn't keep it.",
		MsgGreeting:            "Hi! I can unlock your account or reset your password once you've proved it's you, and help you set up the ways to prove it. Say \"I'm locked out\", \"forgot my password\" or \"register\".",
		MsgRecoverHint:         "Can't open chat when you're locked out? Save this page and use it from any browser, even on your phone: %s",
		MsgRecoverTitle:        "Get back into your account",
		MsgRecoverIntro:        "Forgot your password, or locked out? Prove it's you with the methods you registered with resetbot, then choose a new password. You don't need chat for this.",
		MsgRecoverName:         "Your work email address or user name",
		MsgRecoverWhat:         "What happened?",
		MsgRecoverAnswersWrong: "Those answers aren't right. Choose a method to try again.",
		MsgRecoverForgot:       "I forgot my password",
		MsgRecoverLocked:       "My account is locked",
		MsgRecoverFirst:        "Enter the code from your authenticator app, or send a code to your registered email or phone.",
		MsgRecoverAppCode:      "Code from your authenticator app",
		MsgRecoverCheck:        "Check the code",
		MsgRecoverSendEmail:    "Send a code to my email",
		MsgRecoverSendPhone:    "Send a code to my phone",
		MsgRecoverSentEmail:    "If an email address is registered for this account, a 6-digit code is on its way to it. It works for 10 minutes.",
		MsgRecoverSentPhone:    "If a phone number is registered for this account, a 6-digit code is on its way to it by text message or call. It works for 10 minutes.",
		MsgRecoverCode:         "The 6-digit code",
		MsgRecoverRefused:      "That code was not accepted. Check it and try again. After too many wrong codes, self-service is paused for the account and its owner is told by email.",
		MsgRecoverMore:         "Thanks, that's right. One more proof, please. Choose a method:",
		MsgRecoverUse:          "Use this method",
		MsgRecoverAwait:        "Enter the code, then press the button.",
		MsgRecoverLimit:        "Too many codes were asked for recently. Please wait a few minutes, then try again.",
		MsgRecoverSlow:         "Too many requests came from your network just now. Please wait a few minutes, then try again.",
		MsgRecoverBusy:         "Two requests crossed. Please try that again.",
		MsgRecoverStartOver:    "This page has expired, so let's start over. Nothing was changed.",
		MsgRecoverAgain:        "Start over",
		MsgRecoverContinue:     "Continue",
		MsgRecoverWorking:      "Checking your browser, one moment…",
		MsgRecoverNoScript:     "With JavaScript turned off this page still works, but it allows fewer tries from your network.",
		MsgRecoverTrouble:      "Sorry, something went wrong on our side. Please try again in a moment, or contact the helpdesk.",
		MsgThanks:              "You're welcome! If you need me again, say \"I'm locked out\", \"forgot my password\" or \"help\".",
		MsgBadInput:            "Sorry, I can only read short text messages. Type \"help\" to see what I can do.",
		MsgLockedUnregistered: "Your account is locked, and you haven't registered ways to prove it's you, so I can't unlock it, and registering needs your password, which a locked account can't use. " +
			"Please contact the helpdesk (%s) and tell them: \"My account %s is locked out and I'm not registered with resetbot.\" " +
			"They will unlock it after checking who you are. Once you can sign in again, type \"register\" here, so next time you can unlock it yourself.",
		MsgSlowDown:          "You're sending messages faster than I can answer, so I skipped some. Please wait for my reply, then send one message at a time.",
		MsgMustRegister:      "You haven't registered enough ways to prove it's you (%d needed). Type \"register\" to set them up, or contact the helpdesk: %s",
		MsgChooseMethod:      "To reset your password, I need %s that it's you. Choose a method (press it, or type its number or name):",
		MsgChooseUnlock:      "To unlock your account, I need %s that it's you. Choose a method (press it, or type its number or name):",
		MsgProofOne:          "one proof",
		MsgProofMany:         "%d proofs",
		MsgStatusRegistered:  "You have registered: %s.",
		MsgStatusNothing:     "You haven't registered any way to prove it's you yet.",
		MsgStepChoose:        "You asked to %s. You've given %d of the %d proofs needed; next, choose a method from the list (press it, or type its number or name).",
		MsgStepCode:          "You asked to %s. I'm waiting for the code from your %s: type it here, or say \"resend\" for a new one.",
		MsgStepQuestions:     "You asked to %s. I'm waiting for your answers on the security-questions page I linked.",
		MsgStepResetLink:     "You're verified. Open the one-time link I sent to choose your new password.",
		MsgStepRegisterLink:  "I sent you a one-time link to set up the ways to prove it's you. Open it to carry on.",
		MsgStepAdminLink:     "I sent you a one-time link to confirm an admin action. Open it and sign in to carry on.",
		MsgStepNone:          "Nothing is in progress.",
		MsgDoReset:           "reset your password",
		MsgDoUnlock:          "unlock your account",
		MsgEnterTOTP:         "Open your authenticator app and type the 6-digit code it shows for resetbot.",
		MsgEmailSent:         "I sent a 6-digit code to %s. It works for 10 minutes. Type it here.",
		MsgCodeWrong:         "That code isn't right. Type it again, choose another method, or type \"cancel\".",
		MsgAnswersWrong:      "Those answers aren't right. Choose a method to try again, or type \"cancel\".",
		MsgReminder:          "You haven't set up password self-service yet. It takes two minutes, and next time you're locked out you can get back in without calling the helpdesk.",
		MsgReminderReconfirm: "Please reconfirm your password self-service methods: it's been a while since you set them up.",
		MsgSnoozed:           "OK, I'll remind you in 3 days.",
		MsgNotMe:             "Thank you for telling us. Your account was signed out everywhere, self-service is paused for it, and the bot admins were alerted. Please contact the helpdesk now: %s",
		MsgSnoozeLimit:       "You've postponed this 3 times, so I'll remind you every day until you're registered. Type \"register\" to do it now.",
		MsgReconfirmDue:      "Your methods were registered more than %d days ago. Before the next reset, please show they still work: press Reconfirm next to each on the page below.",
		MsgCodeExpired:       "That code has expired. Choose the method again to get a new one.",
		MsgBlocked:           "Too many attempts: self-service is paused for this account for a while. Please contact the helpdesk: %s",
		MsgTooManyCodes:      "I've sent too many codes in the last few minutes. Please wait a little, then try again.",
		MsgProvenMore:        "Thanks, that's right. One more proof, please. Choose a method:",
		MsgResetLink:         "Thanks, you're verified. Open this one-time link within 10 minutes to choose a new password:",
		MsgUnlockIsReset:     "Choosing a new password also unlocks your account, so I'll help you do that.",
		MsgUnlocked:          "Your account is unlocked. You can sign in with your current password now.",
		MsgUnlockedResetToo:  "If you've forgotten your password too, open this one-time link within 10 minutes to choose a new one:",
		MsgNotLocked:         "Your account isn't locked right now, so there was nothing to unlock.",
		MsgLockedAlert:       "Your account was locked at %s after too many wrong passwords. Unlock it now?",
		MsgRegisterLink:      "Open this one-time link within 10 minutes. You'll sign in with your work account, then set up an authenticator app and an email address:",
		MsgCancelled:         "Cancelled. Nothing was changed.",
		MsgNothingToCancel:   "There's nothing to cancel.",
		MsgStatusIdle:        "%s Nothing is in progress.",
		MsgStatusSession:     "%s %s",
		MsgExpired:           "That took a little too long and your request has expired, so let's start over. Nothing was changed.",
		MsgStaleButton:       "That button is from an earlier step. Please use the latest message.",
		MsgBusy:              "I got two messages at once; please send that again.",
		MsgTrouble:           "Sorry, something went wrong on my side. Please try again in a moment, or contact the helpdesk: %s",
		MsgPasswordChanged:   "Your password was changed. You can sign in with it now.",
		MsgRegistered:        "All set: %d of %d ways to prove it's you are registered (%s). Next time you're locked out, I can help you get back in.",
		MsgRegisteredShort:   "You've registered %d of the %d ways to prove it's you that are needed (%s), so I can't reset your password yet. Type \"register\" to add another.",
		MsgNothingYet:        "none yet",
		MsgUseButtons:        "Please pick one of the options above.",
		MsgNoSecretsHere:     "Please don't type passwords or personal details in chat. I only need codes from your authenticator app or email.",
		MsgNotAdmin:          "Sorry, only bot admins can use that command. This attempt was recorded.",
		MsgAdminSoon:         "Admin commands are not available in this version yet.",
		MsgPlatformRefused:   "Sorry, I can't help this chat account (guest, external or unverified email). Please contact the helpdesk: %s",
		MsgWorking:           "On it: I'll answer in our direct messages.",
		MsgSMSSent:           "I texted a 6-digit code to %s. It works for 10 minutes. Type it here.",
		MsgCallPlaced:        "I'm calling %s now. The call reads out a 6-digit code twice. Type it here.",
		MsgPhoneBudget:       "Text messages and calls are paused for a while. Please choose another method, or contact the helpdesk: %s",
		MsgQuestionsLink:     "Answer your security questions on this one-time page (never in chat):",
		MsgPasskeyLink:       "Open this one-time page within 5 minutes on a device with your passkey or security key; your browser will ask for it:",
		MsgPasskeyWrong:      "That passkey wasn't accepted. Choose a method to try again, or type \"cancel\".",
		MsgStepPasskey:       "You asked to %s. I'm waiting for your passkey on the one-time page I linked.",

		MsgNotHelpdesk:    "Sorry, only helpdesk agents can verify callers. This attempt was recorded.",
		MsgHelpdeskUsage:  "Usage: verify <user email> (number matching in their chat), verify <user email> code (a code they read back to you), verify <user email> <code> (the code they read), verify <user email> link (after the codes: a one-time reset link in their chat).",
		MsgHelpdeskNoUser: "I couldn't find exactly one user for %q. Check the email address.",
		MsgHelpdeskSelf:   "You can't verify yourself.",
		MsgHelpdeskDisabled: "%s's account is disabled, so there is nothing to verify. " +
			"Handle this by your helpdesk's procedure for disabled accounts.",
		MsgHelpdeskLimit: "Not sent: %s was already asked %d times in the last hour. Treat the caller as not verified.",
		MsgHelpdeskNumber: "Read this number to the caller: %d. %s picks it in their chat; I'll tell you here when they answer (within 5 minutes). " +
			"For a second proof, type: verify %s code",
		MsgHelpdeskAsk: "%s from the helpdesk asks you to confirm it's you. If you are on a call with them now, pick the number they read to you. " +
			"If you aren't, press \"I'm not on a call\".",
		MsgHelpdeskNotOnCall: "I'm not on a call",
		MsgHelpdeskNoCode:    "Not verified: %s has no registered method that can give a code. Use number matching or your helpdesk's fallback procedure.",
		MsgHelpdeskCodeDone:  "%s already read back a code from every method that can give one in this request.",
		MsgHelpdeskCodeAsked: "Ask %s to read you the code from their %s (it works for 10 minutes, once), then type: verify %s <code>",
		MsgHelpdeskReadBack: "%s from the helpdesk asked for a code to confirm it's you: read the code from your %s to them, only if you are on a call with them now. " +
			"If you aren't, press \"I'm not on a call\".",
		MsgHelpdeskNoAsk:       "There is no code waiting to be checked. Type verify %s code to ask for one.",
		MsgHelpdeskNotVerified: "%s is NOT verified. Do not reset or unlock anything for this caller.",
		MsgHelpdeskVerified:    "%s is verified with %s at %s.",
		MsgHelpdeskByNumber:    "number matching in chat",
		MsgHelpdeskByCode:      "the code from their %s",
		MsgHelpdeskAnd:         " and ",
		MsgHelpdeskTimedOut:    "%s did not answer in time: NOT verified.",
		MsgHelpdeskOver:        "This helpdesk request is over; nothing was changed.",
		MsgHelpdeskNotMe: "Thank you. The agent was told you are not verified and the bot admins were alerted. " +
			"Never read codes to anyone who calls you.",
		MsgHelpdeskAdminAlert: "Helpdesk agent %s asked to verify %s, who answered \"I'm not on a call\" at %s. " +
			"Someone may be impersonating them to the helpdesk: check the call.",
		MsgHelpdeskWrongNumber: "That isn't the number the agent has, so I told them you are not verified. If you are on the call, ask them to try again.",
		MsgHelpdeskMatched:     "Thanks, that's the right number. I told %s you're verified.",
		MsgHelpdeskLinkPrivileged: "No link: %s holds directory admin roles, and privileged accounts are never reset from the helpdesk path. " +
			"Follow your procedure for privileged accounts.",
		MsgHelpdeskLinkNeedsCodes: "No link yet: in this request %s must first read back as many codes as self-service needs (%d); number matching alone is not enough. Type: verify %s code",
		MsgHelpdeskLinkRefused:    "No link: %s can't reset their password through the bot. Follow your helpdesk's procedure.",
		MsgHelpdeskLinkSent:       "I sent %s a one-time link in their chat to choose a new password (10 minutes, once).",
		MsgHelpdeskResetLink:      "%s from the helpdesk verified you. Open this one-time link within 10 minutes to choose a new password:",

		MsgExpiryReminder: "Your password expires %s (%s). Change it before then so you aren't locked out: " +
			"press \"Change it now\", sign in, and choose a new one.",
		MsgExpiryChangeNow: "Change it now",
		MsgExpiryReminderOnly: "Your password expires %s (%s). Change it before then so you aren't locked out " +
			"(press Ctrl+Alt+Del on your work computer and choose \"Change a password\", or follow your helpdesk's instructions).",
		MsgExpiryToday:    "today",
		MsgExpiryTomorrow: "tomorrow",
		MsgExpiryInDays:   "in %d days",
		MsgChangeLink:     "Open this one-time link within 10 minutes. You'll sign in with your work account, then choose a new password:",
		MsgStepChangeLink: "I sent you a one-time link to change your password. Open it, sign in, and choose a new one.",

		MsgReportExpiry:            "Password expiry: %d expiring in the next 7 days; %d changed after a reminder.",
		MsgReportExpiryUnavailable: "Password expiry: the directory did not say (see the log).",
	},
}

// Text renders a catalog message in the locale's language, falling back to English.
func Text(locale string, id MsgID, args ...any) string {
	lang := strings.ToLower(locale)
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		lang = lang[:i]
	}
	msgs, ok := catalog[lang]
	if !ok {
		msgs = catalog["en"]
	}
	s, ok := msgs[id]
	if !ok {
		s = catalog["en"][id]
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// methodNoun names a method inside a sentence ("the code from your %s").
func methodNoun(m MethodKind) string {
	switch m {
	case MethodTOTP:
		return "authenticator app"
	case MethodEmail:
		return "email"
	case MethodSMS:
		return "text message"
	case MethodVoice:
		return "phone call"
	case MethodPasskey:
		return "passkey"
	}
	return strings.ToLower(methodLabel(m))
}

func methodLabel(m MethodKind) string {
	switch m {
	case MethodTOTP:
		return "Authenticator app code"
	case MethodEmail:
		return "Email code"
	case MethodSMS:
		return "Text message"
	case MethodVoice:
		return "Office phone call"
	case MethodQuestions:
		return "Security questions"
	case MethodPasskey:
		return "Passkey or security key"
	}
	return string(m)
}
