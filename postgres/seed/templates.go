package seed

// Template content for the seeds. Between them the demo templates use every element of
// the markdown subset (RENDERING.md §4.4): headings of both levels, bulleted and numbered
// lists with nested ones, inset text, a rule (a page break in letters), links with and
// without a title, bare URLs with and without a scheme, GOV.UK, a QR code line in letters,
// conditional placeholders ((x??text)) and a list value; one sms and one email template are
// redacted, and one letter is welsh_then_english. The bench cycles through the same
// contents, so rendering is measured on realistic text.

// seedContent is a template's subject (email and letters) and body.
type seedContent struct {
	subject, content string
}

var (
	seedAppointmentEmail = seedContent{
		subject: "Your appointment on ((appointment date))",
		content: `# Your appointment is confirmed

Dear ((first name)),

Your appointment at ((clinic)) is on ((appointment date)) at ((appointment time)).

## What to bring

* this email, on your phone or printed
* photo ID, such as:
  * a passport
  * a driving licence
* a list of any medicines you take

You also need to bring:((documents))

^ If you cannot attend, tell us at least 24 hours before so that we can offer your slot to someone else.

((needs interpreter??We have booked an interpreter for you. They will meet you at reception.))

---

## On the day

1. Arrive 10 minutes early
2. Check in at reception
3. Wait to be called

Change or cancel your appointment on [our website](https://www.example.gov.uk/appointments/((reference)) "Manage your appointment") or read about your rights at https://www.gov.uk/nhs-services.

Your reference is ((reference)).`,
	}
	seedPasswordEmail = seedContent{
		subject: "Reset your password",
		content: `Hi ((first name)),

Use this link to reset your password:

((reset link))

The link works for ((minutes)) minutes. If you did not ask to reset your password, you can ignore this email: your password has not changed.`,
	}
	seedNewsletterEmail = seedContent{
		subject: "Your ((month)) newsletter",
		content: `# ((month)) newsletter

Hello ((first name)),

## In this issue

1. New opening hours
2. Changes to parking:
  * the north car park closes on ((closure date))
  * the south car park stays open
3. Your feedback

^ Our offices are closed on bank holidays.

***

From ((start date)) we open at 8am on weekdays. See www.example.gov.uk/opening-hours for details, or visit GOV.UK for other services.

Read past issues at [example.gov.uk/news](https://www.example.gov.uk/news) or at https://www.example.gov.uk/news?month=((month)).

((gave feedback??Thank you for your feedback last month: we read every reply.))`,
	}
	seedBillingEmail = seedContent{
		subject: "Your council tax bill for ((year))",
		content: `Dear ((name)),

Your council tax bill for ((year)) is ready.

Amount due: ((amount))
Account number: ((account number))

View and pay your bill at https://www.exampleshire.gov.uk/council-tax/((account number))

((direct debit??Your first instalment will be collected by Direct Debit.))

GOV.UK Pay accepts debit and credit cards.`,
	}
	seedSimpleEmail = seedContent{
		subject: "A message from us",
		content: `Dear ((name)),

Thank you for getting in touch. Your reference is ((reference)).

We will reply within ((days)) working days.`,
	}

	seedReminderSMS = seedContent{content: `Reminder: ((first name)), your appointment at ((clinic)) is on ((appointment date)) at ((appointment time)).((needs interpreter?? An interpreter will meet you.)) To cancel, reply CANCEL or visit gov.uk/appointments`}
	// The verification code template is redacted: the code is secret.
	seedCodeSMS    = seedContent{content: `((code)) is your Demo Department verification code. It expires in ((minutes)) minutes. Do not share it with anyone.`}
	seedBenefitSMS = seedContent{content: `Dear ((first name)), your payment date is changing to ((payment date)). Your next payment of ((amount)) will reach your account on that day. You do not need to do anything. If your bank details have changed, tell us at www.example.gov.uk/benefits or call 0800 123 4567. Reference ((reference)).`}
	seedTrialSMS   = seedContent{content: `Hello ((name)), this is a test message from the texting pilot. Reply STOP to opt out.`}

	seedPaymentLetter = seedContent{
		subject: "You have a payment overdue",
		content: `Dear ((name)),

We have not received your payment of ((amount)), which was due on ((due date)).

# What you need to do

Pay the full amount by ((pay by date)). You can:

* pay online at www.example.gov.uk/pay
* pay by phone on 0300 123 4567
* send a cheque to the address at the top of this letter

((payment plan??You have a payment plan with us. Your next instalment is on your plan.))

QR: https://www.example.gov.uk/pay/((reference))

---

# If you cannot pay

Contact us as soon as you can. We may be able to:

1. spread the cost over more months
2. check whether you can get help, such as:
  * a discount
  * a reduction for a single occupant

## Read more at [example.gov.uk/help](https://www.example.gov.uk/help).

Your reference is ((reference)).

Yours sincerely

Debt Recovery Team`,
	}
	seedUrgentLetter = seedContent{
		subject: "Urgent: action needed by ((due date))",
		content: `Dear ((name)),

# You must reply by ((due date))

We need the following documents to keep your claim open:((documents))

^ If we do not hear from you by ((due date)), your claim may stop.

Send copies, not originals, to the address above, quoting ((reference)).`,
	}
	seedStatementLetter = seedContent{
		subject: "Your annual statement for ((year))",
		content: `Dear ((name)),

This is your statement for ((year)).

# Summary

* Payments received: ((amount))
* Account number: ((account number))

---

# Your payments

1. April to June
2. July to September
3. October to December
4. January to March

Each payment is shown on the following pages.

---

# Questions

Read about your statement at https://www.example.gov.uk/statements.

QR: https://www.example.gov.uk/statements/((account number))`,
	}
	seedBinsLetter = seedContent{
		subject: "Your bin collection day is changing",
		content: `Dear ((name)),

From ((start date)) your bins will be collected on ((collection day)).

((garden waste??Your garden waste bin will be collected on the same day, every other week.))

# What you need to do

* put your bins out by 7am
* leave the lids closed

See the new calendar at www.exampleshire.gov.uk/bins.

QR: https://www.exampleshire.gov.uk/bins/((reference))`,
	}
	// The council tax bill is sent in Welsh, then in English.
	seedTaxLetter = seedContent{
		subject: "Your council tax bill for ((year))",
		content: `Dear ((name)),

Your council tax bill for ((year)) is ((amount)).

# How to pay

* online at www.exampleshire.gov.uk/pay
* by phone on 0300 123 4567

Your account number is ((account number)).`,
	}
	seedTaxLetterWelsh = seedContent{
		subject: "Eich bil treth gyngor ar gyfer ((year))",
		content: `Annwyl ((name)),

Eich bil treth gyngor ar gyfer ((year)) yw ((amount)).

# Sut i dalu

* ar-lein yn www.exampleshire.gov.uk/talu
* dros y ffôn ar 0300 123 4567

Rhif eich cyfrif yw ((account number)).`,
	}
)

// seedBenchContents are the contents the bench's templates cycle through, by type.
var seedBenchContents = map[string][]seedContent{
	"email":  {seedAppointmentEmail, seedPasswordEmail, seedNewsletterEmail, seedBillingEmail, seedSimpleEmail},
	"sms":    {seedReminderSMS, seedCodeSMS, seedBenefitSMS, seedTrialSMS},
	"letter": {seedPaymentLetter, seedUrgentLetter, seedStatementLetter, seedBinsLetter},
}

// use gives t a content.
func (t *seedTemplate) use(c seedContent) *seedTemplate {
	t.subject, t.content = c.subject, c.content
	return t
}
