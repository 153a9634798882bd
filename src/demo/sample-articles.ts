import { escapeXml } from '../producers/pubmed-xml/synthetic.js';

/**
 * The demo's offline input: short PubMed-style citations written for this project (not taken
 * from PubMed or any corpus), about drugs and the diseases they treat or cause, so that a
 * model for diseases and chemicals has something to find. PMIDs are in a range PubMed does
 * not use yet, so they cannot be mistaken for real citations.
 */
export interface SampleArticle {
  pmid: string;
  title: string;
  abstract: string;
  journal: string;
  year: number;
  mesh: string[];
}

export const SAMPLE_ARTICLES: readonly SampleArticle[] = [
  {
    pmid: '99000001',
    title:
      'Lactic acidosis during metformin therapy in patients with type 2 diabetes and renal impairment.',
    abstract:
      'Metformin is the first-line drug for type 2 diabetes, but lactic acidosis remains a feared complication when kidney function declines. We reviewed 412 patients treated with metformin whose estimated glomerular filtration rate fell below 45 mL/min. Eleven episodes of lactic acidosis occurred, nine of them during acute kidney injury caused by dehydration or sepsis. Serum lactate above 5 mmol/L was associated with hypotension and with the use of contrast media. Stopping metformin during acute illness and adjusting the dose to renal function may prevent most cases.',
    journal: 'Journal of Clinical Pharmacology Notes',
    year: 2024,
    mesh: ['Metformin', 'Acidosis, Lactic', 'Diabetes Mellitus, Type 2', 'Renal Insufficiency'],
  },
  {
    pmid: '99000002',
    title: 'Cisplatin-induced nephrotoxicity and hypomagnesemia in children with osteosarcoma.',
    abstract:
      'Cisplatin is effective against osteosarcoma but damages the proximal tubule. In a cohort of 58 children receiving cisplatin and doxorubicin, acute kidney injury developed in 19 and persistent hypomagnesemia in 31. Hydration with mannitol did not change the incidence of nephrotoxicity. Magnesium supplementation corrected serum levels within two weeks, and no child needed dialysis. Ototoxicity, another known effect of cisplatin, was seen in 12 children.',
    journal: 'Pediatric Oncology Reports',
    year: 2023,
    mesh: ['Cisplatin', 'Osteosarcoma', 'Acute Kidney Injury', 'Magnesium'],
  },
  {
    pmid: '99000003',
    title: 'Cardiomyopathy after doxorubicin for breast cancer: a ten-year follow-up.',
    abstract:
      'Anthracyclines such as doxorubicin improve survival in breast cancer but can cause dose-dependent cardiomyopathy. Among 930 women treated with doxorubicin, 47 developed heart failure with reduced ejection fraction after a median of 4.2 years. Cumulative doses above 400 mg/m2, hypertension and concurrent trastuzumab increased the risk. Dexrazoxane given before each cycle was associated with fewer cardiac events. Long-term echocardiographic surveillance is advised for survivors.',
    journal: 'Cardio-Oncology Letters',
    year: 2022,
    mesh: ['Doxorubicin', 'Cardiomyopathies', 'Breast Neoplasms', 'Heart Failure'],
  },
  {
    pmid: '99000004',
    title: 'Tardive dyskinesia in elderly patients treated with haloperidol.',
    abstract:
      'Tardive dyskinesia is a movement disorder that may persist after haloperidol is withdrawn. We followed 120 elderly patients with schizophrenia or delirium who received haloperidol for at least three months. Involuntary orofacial movements appeared in 22 patients, more often in women and in those with diabetes. Switching to clozapine reduced symptom scores in most of them. Parkinsonism and akathisia were also frequent and often preceded the dyskinesia.',
    journal: 'Geriatric Psychiatry Briefs',
    year: 2021,
    mesh: ['Haloperidol', 'Tardive Dyskinesia', 'Schizophrenia', 'Aged'],
  },
  {
    pmid: '99000005',
    title: 'Lithium and nephrogenic diabetes insipidus: prevalence in long-term users.',
    abstract:
      'Lithium remains a cornerstone treatment for bipolar disorder. Polyuria and nephrogenic diabetes insipidus (NDI) are common in long-term users. In 214 patients on lithium for more than ten years, urine concentrating ability was impaired in 37% and NDI was confirmed in 19%. Amiloride reduced urine volume in patients with NDI. Chronic kidney disease was more frequent in patients with repeated episodes of lithium toxicity.',
    journal: 'Mood Disorders Review',
    year: 2020,
    mesh: ['Lithium', 'Diabetes Insipidus, Nephrogenic', 'Bipolar Disorder', 'Polyuria'],
  },
  {
    pmid: '99000006',
    title: 'Valproic acid hepatotoxicity and hyperammonemic encephalopathy in epilepsy.',
    abstract:
      'Valproic acid is widely used for epilepsy and migraine. We describe 15 patients who developed hyperammonemic encephalopathy while taking valproic acid, three of whom also had acute liver failure. Confusion and vomiting resolved after the drug was stopped and L-carnitine was given. Carbamazepine or levetiracetam controlled seizures afterwards in all but one patient. Ammonia should be measured in any patient on valproate who becomes drowsy or confused.',
    journal: 'Epilepsy and Seizure Notes',
    year: 2023,
    mesh: ['Valproic Acid', 'Hyperammonemia', 'Epilepsy', 'Liver Failure, Acute'],
  },
  {
    pmid: '99000007',
    title: 'Amiodarone pulmonary toxicity presenting as interstitial pneumonia.',
    abstract:
      'Amiodarone controls atrial fibrillation and ventricular tachycardia but may injure the lung. A 71-year-old man taking amiodarone 400 mg daily presented with cough, dyspnea and bilateral infiltrates. Biopsy showed interstitial pneumonia with foamy macrophages and early pulmonary fibrosis. Symptoms improved after amiodarone was replaced by sotalol and prednisone was started. Hypothyroidism, another adverse effect of amiodarone, was found at the same visit.',
    journal: 'Respiratory Case Letters',
    year: 2019,
    mesh: ['Amiodarone', 'Pulmonary Fibrosis', 'Atrial Fibrillation', 'Pneumonia'],
  },
  {
    pmid: '99000008',
    title: 'Isoniazid-associated hepatitis during treatment of latent tuberculosis.',
    abstract:
      'Isoniazid prevents progression of latent tuberculosis but can cause hepatitis. Of 1,150 adults treated with isoniazid for nine months, 26 had aminotransferase levels above five times the upper limit, and two developed jaundice. Alcohol use and older age were associated with liver injury. A four-month course of rifampin caused fewer hepatic adverse events. Peripheral neuropathy was prevented by pyridoxine supplementation.',
    journal: 'Infectious Disease Practice',
    year: 2022,
    mesh: ['Isoniazid', 'Latent Tuberculosis', 'Hepatitis', 'Rifampin'],
  },
  {
    pmid: '99000009',
    title: 'Low-dose methotrexate and folic acid in early rheumatoid arthritis.',
    abstract:
      'Methotrexate is the anchor drug for rheumatoid arthritis. In 300 patients with early disease, weekly methotrexate with daily folic acid reduced joint swelling and erosions over two years. Stomatitis, nausea and elevated liver enzymes were the most common adverse events; folic acid halved their frequency. Three patients developed methotrexate pneumonitis. Combination with hydroxychloroquine and sulfasalazine helped patients with persistent synovitis.',
    journal: 'Rheumatology Practice Notes',
    year: 2021,
    mesh: ['Methotrexate', 'Arthritis, Rheumatoid', 'Folic Acid', 'Stomatitis'],
  },
  {
    pmid: '99000010',
    title: 'Aspirin, Reye syndrome and influenza in children: a reminder.',
    abstract:
      'Reye syndrome is a rare but severe disease of children characterized by acute encephalopathy and fatty degeneration of the liver. It has been linked to aspirin given during viral infections such as influenza and varicella. Since warnings against aspirin in children were issued, the incidence has fallen sharply. Paracetamol or ibuprofen should be used for fever in children. Vomiting and lethargy after a viral illness should prompt measurement of ammonia and liver enzymes.',
    journal: 'Child Health Digest',
    year: 2018,
    mesh: ['Aspirin', 'Reye Syndrome', 'Influenza, Human', 'Chickenpox'],
  },
  {
    pmid: '99000011',
    title: 'Warfarin-associated intracranial hemorrhage in patients with atrial fibrillation.',
    abstract:
      'Warfarin prevents stroke in atrial fibrillation at the cost of bleeding. Among 2,400 patients taking warfarin, 38 had intracranial hemorrhage, most with an international normalized ratio above 3.0. Concurrent aspirin and uncontrolled hypertension doubled the risk. Patients switched to apixaban had fewer major bleeding events. Vitamin K and prothrombin complex concentrate were used to reverse anticoagulation in emergencies.',
    journal: 'Stroke and Vascular Reports',
    year: 2024,
    mesh: ['Warfarin', 'Intracranial Hemorrhages', 'Atrial Fibrillation', 'Apixaban'],
  },
  {
    pmid: '99000012',
    title: 'Statin-associated myopathy and rhabdomyolysis with simvastatin and gemfibrozil.',
    abstract:
      'Statins lower cholesterol and cardiovascular risk, but muscle toxicity limits their use. We report 9 patients with rhabdomyolysis who took simvastatin together with gemfibrozil; creatine kinase exceeded 10,000 U/L in all of them and four had acute renal failure. Myalgia without rhabdomyolysis was reported by 8% of 2,000 patients taking atorvastatin. Hypothyroidism and high doses increased the risk of myopathy. Combining simvastatin with gemfibrozil should be avoided.',
    journal: 'Lipid Clinic Communications',
    year: 2020,
    mesh: ['Simvastatin', 'Rhabdomyolysis', 'Gemfibrozil', 'Muscular Diseases'],
  },
];

/** The sample as a PubmedArticleSet document, so the demo runs the real XML parser. */
export function sampleArticlesXml(articles: readonly SampleArticle[] = SAMPLE_ARTICLES): string {
  const records = articles.map(
    (a) => `<PubmedArticle>
  <MedlineCitation Status="MEDLINE" Owner="NLM">
    <PMID Version="1">${a.pmid}</PMID>
    <Article PubModel="Print">
      <Journal><JournalIssue CitedMedium="Print"><PubDate><Year>${a.year}</Year></PubDate></JournalIssue><Title>${escapeXml(a.journal)}</Title></Journal>
      <ArticleTitle>${escapeXml(a.title)}</ArticleTitle>
      <Abstract><AbstractText>${escapeXml(a.abstract)}</AbstractText></Abstract>
    </Article>
    <MeshHeadingList>${a.mesh.map((m) => `<MeshHeading><DescriptorName MajorTopicYN="N">${escapeXml(m)}</DescriptorName></MeshHeading>`).join('')}</MeshHeadingList>
  </MedlineCitation>
</PubmedArticle>`,
  );
  return `<?xml version="1.0" encoding="UTF-8"?>\n<PubmedArticleSet>\n${records.join('\n')}\n</PubmedArticleSet>\n`;
}
