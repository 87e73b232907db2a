// Typed keys of the search attributes in spec 4, shared by workflows (upsert) and the client
// (initial values at start). Registered with the server by the dev stack.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const DeliveryStateKey = defineSearchAttributeKey('DeliveryState', SearchAttributeType.KEYWORD);
export const RecipientDomainsKey = defineSearchAttributeKey('RecipientDomains', SearchAttributeType.KEYWORD_LIST);
export const BounceCategoriesKey = defineSearchAttributeKey('BounceCategories', SearchAttributeType.KEYWORD_LIST);
export const DeliveryAttemptsKey = defineSearchAttributeKey('DeliveryAttempts', SearchAttributeType.INT);
